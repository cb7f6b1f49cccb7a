# A single-node k3s server. Cilium (installed by the Pulumi `cilium` project) replaces flannel, network
# policy, kube-proxy and ServiceLB; CoreDNS stays. The cluster's CAs come from the server's secrets, so a
# reinstalled server keeps its identity.
{ config, lib, ... }:
let
  cfg = config.homelab.kubernetes;
  site = lib.importJSON ../../servers/site.json;
  tlsDir = "/var/lib/rancher/k3s/server/tls";
  # The files k3s looks for in its tls directory before generating its own (written by
  # tools/host-secrets). Each is stored as k3s/<path with / - . turned into _> in the server's secrets.
  tlsFiles = [
    "server-ca.crt"
    "server-ca.key"
    "client-ca.crt"
    "client-ca.key"
    "request-header-ca.crt"
    "request-header-ca.key"
    "etcd/server-ca.crt"
    "etcd/server-ca.key"
    "etcd/peer-ca.crt"
    "etcd/peer-ca.key"
    "service.key"
  ];
  secretName = file: "k3s/${builtins.replaceStrings [ "/" "-" "." ] [ "_" "_" "_" ] file}";
  serviceNetwork = lib.splitString "/" cfg.serviceCidr;
  # CoreDNS gets the 10th address of the service range, as in k3s's default (10.43.0.10).
  clusterDns = lib.concatStringsSep "." (
    lib.take 3 (lib.splitString "." (lib.head serviceNetwork)) ++ [ "10" ]
  );
in
{
  options.homelab.kubernetes = {
    clusterCidr = lib.mkOption {
      type = lib.types.str;
      example = "10.42.0.0/16";
      description = "Pod network. Disjoint from every other server's, so clusters can share a tailnet.";
    };
    serviceCidr = lib.mkOption {
      type = lib.types.str;
      example = "10.43.0.0/16";
      description = "Service network (a /24 or larger). Disjoint from every other server's.";
    };
    tailnet = lib.mkOption {
      type = lib.types.str;
      default = site.tailnet.name;
      description = "Tailnet DNS name; the API server certificate is valid for <host>.<tailnet>.";
    };
    allowedUnsafeSysctls = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [
        "net.ipv4.ip_forward"
        "net.ipv4.conf.all.src_valid_mark"
        # Replies from the VPN tunnel arrive unmarked; strict reverse-path filtering would drop them.
        "net.ipv4.conf.all.rp_filter"
      ];
      description = "Namespaced sysctls pods may set; the VPN relays need these.";
    };
  };

  config = {
    assertions = [
      {
        assertion = lib.toInt (lib.last serviceNetwork) <= 24;
        message = "homelab.kubernetes.serviceCidr must be a /24 or larger";
      }
    ];

    services.k3s = {
      enable = true;
      role = "server";
      extraFlags = [
        "--secrets-encryption"
        "--disable=traefik"
        # Cilium replaces kube-proxy and serves LoadBalancer Services on the node's address.
        "--disable=servicelb"
        "--disable-kube-proxy"
        "--flannel-backend=none"
        "--disable-network-policy"
        "--cluster-cidr=${cfg.clusterCidr}"
        "--service-cidr=${cfg.serviceCidr}"
        "--cluster-dns=${clusterDns}"
        "--tls-san=${config.networking.hostName}.${cfg.tailnet}"
        "--kubelet-arg=allowed-unsafe-sysctls=${lib.concatStringsSep "," cfg.allowedUnsafeSysctls}"
      ];
    };

    # sops-nix links each file into place during activation, before k3s starts.
    sops.secrets = lib.listToAttrs (
      map (file: {
        name = secretName file;
        value = {
          path = "${tlsDir}/${file}";
          restartUnits = [ "k3s.service" ];
        };
      }) tlsFiles
    );
  };
}
