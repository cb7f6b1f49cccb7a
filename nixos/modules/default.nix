# Everything a server runs; what differs per server comes from its description (servers.nix) and
# instances/<name>, if there is one.
{
  imports = [
    ./server.nix
    ./firewall.nix
    ./disk.nix
    ./kubernetes.nix
    ./tailscale.nix
  ];
}
