# Proxmox VM at home (terraform/instances/local-a); its apps are reached over the tailnet.
{
  networking.hostName = "local-a";
  homelab = {
    role = "home";
    kubernetes = {
      clusterCidr = "10.46.0.0/16";
      serviceCidr = "10.47.0.0/16";
    };
  };
}
