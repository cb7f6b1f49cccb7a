# Hetzner Cloud VPS (terraform/instances/cloud-b), cloud-a's migration pair.
{
  networking.hostName = "cloud-b";
  homelab = {
    role = "cloud";
    # Its public address serves the public gateway (80/443, from Cloudflare only).
    reachableFromInternet = true;
    kubernetes = {
      clusterCidr = "10.44.0.0/16";
      serviceCidr = "10.45.0.0/16";
    };
  };
}
