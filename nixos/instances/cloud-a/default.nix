# Hetzner Cloud VPS (terraform/instances/cloud-a) serving public apps; cloud-b is its migration pair.
{
  networking.hostName = "cloud-a";
  homelab = {
    role = "cloud";
    # Its public address serves the public gateway (80/443, from Cloudflare only).
    reachableFromInternet = true;
    kubernetes = {
      clusterCidr = "10.42.0.0/16";
      serviceCidr = "10.43.0.0/16";
    };
  };
}
