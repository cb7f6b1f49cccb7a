# The host perimeter (firewall-rules.nix): SSH and the Kubernetes API on the tailnet only, pods to the
# few node ports they need on Cilium's interfaces, 80/443 to Cloudflare's ranges only where the server
# is reachable from the internet, Headscale's port and STUN from anywhere on the server that runs the
# site's Headscale. Everything else arriving at the host is dropped.
{ config, lib, ... }:
let
  site = lib.importJSON ../../servers/site.json;
  rules = import ./firewall-rules.nix;
in
{
  options.homelab.reachableFromInternet = lib.mkOption {
    type = lib.types.bool;
    default = rules.reachableByDefault config.homelab.role;
    defaultText = lib.literalExpression ''config.homelab.role == "cloud"'';
    description = ''
      Whether the internet reaches this server on 80/443 (its public gateway, behind Cloudflare). Set from
      the server's description (servers/<name>.json reachableFromInternet), which its Terraform root
      passes on as `public_gateway` too.
    '';
  };

  config = {
    # k3s and Cilium program iptables, and the rules below are iptables rules; the nftables backend
    # would ignore them.
    networking.nftables.enable = false;

    networking.firewall = {
      enable = true;
    }
    // rules.firewall {
      tailnetInterface = config.services.tailscale.interfaceName;
      tailscalePort = config.services.tailscale.port;
      inherit (site.admin) sshPort;
      inherit (config.homelab.kubernetes) clusterCidr;
      inherit (config.homelab) reachableFromInternet;
      cloudflare = lib.importJSON ../cloudflare-ip-ranges.json;
      headscalePort = rules.headscalePortOf site config.networking.hostName;
    };

    # Both would open their port to the whole internet; the rules above open each where it belongs.
    services.openssh.openFirewall = false;
    services.tailscale.openFirewall = false;

    assertions = [
      {
        # Another module opening a TCP port to the world (a service's openFirewall, allowedTCPPorts) would
        # undo the perimeter without touching this file.
        assertion =
          config.networking.firewall.allowedTCPPorts == [ ]
          && config.networking.firewall.allowedTCPPortRanges == [ ];
        message = "no TCP port is open to the whole internet: open it on an interface (interfaces.<name>) or from named sources in nixos/modules/firewall-rules.nix";
      }
    ];
  };
}
