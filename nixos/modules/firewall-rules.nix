# The host perimeter as plain data: what the firewall of a server lets in, on which interface and from
# where. Builtins only (no nixpkgs), so tools/static-checks evaluates it for every server with
# nix-instantiate; firewall.nix hands the result to networking.firewall unchanged.
{
  # The default of homelab.reachableFromInternet: a cloud server has a public address, a home server
  # sits behind a router that forwards nothing unless told to.
  reachableByDefault = role: role == "cloud";

  # The port Headscale's HTTPS and control protocol listen on where server `hostName` runs the site's
  # Headscale (servers/site.json tailnet.headscale, port 8443 unless set, as in siteSchema of
  # pulumi/packages/core/src/servers.ts), else null.
  headscalePortOf =
    site: hostName:
    let
      headscale = site.tailnet.headscale or null;
    in
    if headscale != null && headscale.server == hostName then headscale.port or 8443 else null;

  firewall =
    {
      # services.tailscale.interfaceName and .port.
      tailnetInterface,
      tailscalePort,
      # servers/site.json admin.sshPort.
      sshPort,
      # homelab.kubernetes.clusterCidr: every pod address.
      clusterCidr,
      # homelab.reachableFromInternet.
      reachableFromInternet,
      # nixos/cloudflare-ip-ranges.json.
      cloudflare,
      # headscalePortOf: Headscale's TCP port where this server runs the site's Headscale, else null.
      headscalePort ? null,
    }:
    let
      # Where pod traffic to the node arrives. Cilium's bpf_lxc hands a packet for the host to the
      # stack on the pod's own veth (lxc<id>), or redirects it to cilium_host's ingress when it runs
      # the host firewall or an L7 proxy (bpf/bpf_lxc.c, `to_host`). cilium_net only carries the
      # host's own packets back from cilium_host, and cilium_vxlan only other nodes' pods, which a
      # single-node cluster has none of.
      podInterfaces = [
        "lxc+"
        "cilium_host"
      ];
      # The node's ports pods need, and who needs them (pulumi/projects/cilium/baseline.ts allows the
      # same in the cluster's policies). Cilium's health checks start in the agent, on the host
      # network; its health endpoint only answers them. No DNS server runs on the host: CoreDNS
      # forwards to the upstream servers of /etc/resolv.conf.
      podHostPorts = [
        # The API server: every pod that talks to Kubernetes (kube-apiserver entity, after Cilium
        # translates the kubernetes Service to the node's address).
        6443
        # The kubelet: metrics-server scrapes it.
        10250
        # Cilium's Hubble server in the agent: Hubble relay collects flows from it.
        4244
      ];
      # Only pod addresses, on the interfaces pods use: a packet from the internet that claims a pod
      # address arrives on the public interface and matches nothing here.
      podRules = builtins.concatLists (
        map (
          interface:
          map (
            port:
            "iptables -w -A nixos-fw -i ${interface} -s ${clusterCidr} -p tcp --dport ${toString port} -j nixos-fw-accept"
          ) podHostPorts
        ) podInterfaces
      );
      # The public gateway's ports, to Cloudflare's proxies only (DNS records of public apps are
      # proxied, so nobody else has a reason to connect).
      publicRules =
        if reachableFromInternet then
          map (
            cidr: "iptables -w -A nixos-fw -s ${cidr} -p tcp -m multiport --dports 80,443 -j nixos-fw-accept"
          ) cloudflare.ipv4Cidrs
          ++ map (
            cidr: "ip6tables -w -A nixos-fw -s ${cidr} -p tcp -m multiport --dports 80,443 -j nixos-fw-accept"
          ) cloudflare.ipv6Cidrs
        else
          [ ];
      # Tailscale clients anywhere log in to the site's Headscale and relay through its embedded DERP,
      # whose STUN listens on 3478 (pulumi/packages/headscale, derp.server.stun_listen_addr): both from
      # anywhere, on its server only. Its name cannot sit behind Cloudflare's proxy.
      headscaleMatches = [
        "-p tcp --dport ${toString headscalePort}"
        "-p udp --dport 3478"
      ];
      headscaleRules =
        if headscalePort != null then
          map (match: "iptables -w -A nixos-fw ${match} -j nixos-fw-accept") headscaleMatches
          ++ map (match: "ip6tables -w -A nixos-fw ${match} -j nixos-fw-accept") headscaleMatches
        else
          [ ];
    in
    {
      # No TCP port is open to the whole internet through allowedTCPPorts: Headscale's, on its server
      # only, is among the extraCommands.
      allowedTCPPorts = [ ];
      # Direct Tailscale connections (otherwise they go through DERP relays).
      allowedUDPPorts = [ tailscalePort ];
      # SSH and the Kubernetes API (kubeconfig: https://<host>.<tailnet>:6443) over the tailnet only.
      interfaces.${tailnetInterface}.allowedTCPPorts = [
        sshPort
        6443
      ];
      extraCommands =
        builtins.concatStringsSep "\n" (podRules ++ publicRules ++ headscaleRules) + "\n";
    };
}
