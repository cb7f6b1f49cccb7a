# Proxmox VM at home (terraform/instances/local-a); its apps are reached over the tailnet.
{
  networking.hostName = "local-a";
  homelab = {
    role = "home";
    # A home server is closed to the internet unless its instance says otherwise. The example's
    # router forwards 80/443 to it (n8n's public webhooks run here), so it says so; without port
    # forwarding set this to false, pass `public_gateway = false` in terraform/instances/local-a and
    # drop the public-gateway project's Pulumi.local-a.yaml. Either way only Cloudflare gets in.
    reachableFromInternet = true;
    kubernetes = {
      clusterCidr = "10.46.0.0/16";
      serviceCidr = "10.47.0.0/16";
    };
  };
}
