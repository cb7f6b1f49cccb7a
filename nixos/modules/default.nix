# Everything a server runs; an instance file (instances/<host>) only sets what differs.
{
  imports = [
    ./server.nix
    ./firewall.nix
    ./disk.nix
    ./kubernetes.nix
    ./tailscale.nix
  ];
}
