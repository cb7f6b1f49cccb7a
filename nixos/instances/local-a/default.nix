# Proxmox VM at home (terraform/instances/local-a); its apps are reached over the tailnet.
{
  networking.hostName = "local-a";
  homelab = {
    role = "home";
    # Nothing at home forwards 80/443 to it. When your router does, set this to true and pass
    # `public_gateway = true` in terraform/instances/local-a (the firewalls then admit Cloudflare only).
    reachableFromInternet = false;
    kubernetes = {
      clusterCidr = "10.46.0.0/16";
      serviceCidr = "10.47.0.0/16";
    };
  };
}
