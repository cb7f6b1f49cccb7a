# What a server's provider firewall lets in from the internet, as plain data that every provider module
# (hcloud, digitalocean, proxmox) maps onto its own firewall resource. It uses no provider, so
# tools/static-checks evaluates it offline with `terraform console` and compares it to the NixOS side.

locals {
  # Cloudflare's published ranges, pinned in the repository: the one list the NixOS firewall
  # (nixos/modules/firewall-rules.nix) and the public gateway admit too.
  cloudflare = jsondecode(file("${path.module}/../../../nixos/cloudflare-ip-ranges.json"))
  anywhere   = { ipv4 = ["0.0.0.0/0"], ipv6 = ["::/0"] }

  # Until the current generation is recorded as installed, the install's way in: the provider image's
  # SSH and, after kexec, nixos-anywhere's installer on the same port. The installed NixOS takes SSH
  # over the tailnet only, so nothing needs this port afterwards.
  installing = var.installed_generation < var.generation

  inbound_rules = concat(
    [
      # Direct Tailscale connections (otherwise they go through DERP relays); NixOS's
      # services.tailscale.port.
      { description = "Tailscale direct connections", protocol = "udp", port = 41641, sources = local.anywhere },
    ],
    local.installing ? [
      { description = "Install of generation ${var.generation}: SSH of the image and the installer", protocol = "tcp", port = var.install_ssh_port, sources = local.anywhere },
    ] : [],
    var.public_gateway ? [
      for port in [80, 443] : {
        description = "Public gateway, from Cloudflare only"
        protocol    = "tcp"
        port        = port
        sources     = { ipv4 = local.cloudflare.ipv4Cidrs, ipv6 = local.cloudflare.ipv6Cidrs }
      }
    ] : [],
    # Tailscale clients anywhere log in to the site's Headscale and relay through its embedded DERP,
    # whose STUN listens on 3478 (pulumi/packages/headscale); its name cannot sit behind Cloudflare's
    # proxy. The same as nixos/modules/firewall-rules.nix headscaleRules.
    var.headscale_port != null ? [
      for rule in [{ protocol = "tcp", port = var.headscale_port }, { protocol = "udp", port = 3478 }] : {
        description = "Headscale ${rule.protocol == "tcp" ? "login and control" : "DERP STUN"}: Tailscale clients anywhere, not behind Cloudflare's proxy"
        protocol    = rule.protocol
        port        = rule.port
        sources     = local.anywhere
      }
    ] : [],
  )
}

check "install_port_closed" {
  assert {
    condition     = !local.installing
    error_message = "The provider's firewall lets anyone reach SSH port ${var.install_ssh_port} until generation ${var.generation} is installed. Once this apply has installed it, set installed_generation = ${var.generation} in generation.auto.tfvars and apply again to close the port."
  }
}
