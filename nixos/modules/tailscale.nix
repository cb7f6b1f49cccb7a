# Joins the tailnet as <host>; the auth key is only used on first start (Tailscale keeps its state).
{ config, ... }:
{
  sops.secrets."tailscale/auth_key" = { };

  services.tailscale = {
    enable = true;
    authKeyFile = config.sops.secrets."tailscale/auth_key".path;
  };

  # Strict reverse-path filtering drops tailnet and pod traffic that routes asymmetrically.
  networking.firewall.checkReversePath = "loose";
}
