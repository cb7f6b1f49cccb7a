# Joins the tailnet as <host>; the auth key is only used on first start (Tailscale keeps its state).
{ config, lib, ... }:
let
  site = lib.importJSON ../../servers/site.json;
  headscale = site.tailnet.headscale or null;
  # servers/site.json tailnet.headscale, with the defaults of its schema (tailnetControlOf in
  # pulumi/packages/core/src/servers.ts): the URL every client logs in to.
  loginServer =
    "https://${headscale.hostname or "headscale.${site.domain}"}:${toString (headscale.port or 8443)}";
in
{
  sops.secrets."tailscale/auth_key" = { };

  services.tailscale = {
    enable = true;
    authKeyFile = config.sops.secrets."tailscale/auth_key".path;
    # On a Headscale site: log in there (the auth key is a Headscale pre-auth key), and send no
    # logs to Tailscale's log service from the first start on. Headscale hands every device its
    # resolver for all names (override_local_dns, @infra/headscale); a server keeps its own, so that
    # k3s's DNS upstream never depends on tailscaled.
    extraUpFlags = lib.optionals (headscale != null) [
      "--login-server=${loginServer}"
      "--accept-dns=false"
    ];
    extraDaemonFlags = lib.optionals (headscale != null) [ "--no-logs-no-support" ];
  };

  # Strict reverse-path filtering drops tailnet and pod traffic that routes asymmetrically.
  networking.firewall.checkReversePath = "loose";
}
