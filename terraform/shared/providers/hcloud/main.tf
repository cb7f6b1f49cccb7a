# A Hetzner Cloud server. HCLOUD_TOKEN comes from secrets/shared/env.yaml (the devcontainer's unlock).

resource "hcloud_ssh_key" "admin" {
  for_each   = { for index, key in var.ssh_public_keys : tostring(index) => key }
  name       = "${var.name}-admin-${each.key}"
  public_key = each.value
}

module "perimeter" {
  source = "../../perimeter"

  generation           = var.generation
  installed_generation = var.installed_generation
  install_ssh_port     = local.image_ssh_port
  public_gateway       = var.public_gateway
  headscale_port       = var.headscale_port
}

# Hetzner applies it outside the server, before its own firewall: what it drops never reaches the
# node, not even Cilium's eBPF, which serves the public gateway's LoadBalancer before netfilter.
resource "hcloud_firewall" "server" {
  name = var.name

  dynamic "rule" {
    for_each = module.perimeter.inbound_rules
    content {
      description = rule.value.description
      direction   = "in"
      protocol    = rule.value.protocol
      port        = tostring(rule.value.port)
      source_ips  = concat(rule.value.sources.ipv4, rule.value.sources.ipv6)
    }
  }
}

# A new generation is a new server from the provider's image: the installed NixOS takes SSH over the
# tailnet only, and nixos-anywhere's installer (after kexec) would not be reachable there.
resource "terraform_data" "generation" {
  input = var.generation
}

resource "hcloud_server" "server" {
  name         = var.name
  server_type  = var.server_type
  location     = var.location
  image        = var.image
  ssh_keys     = [for key in hcloud_ssh_key.admin : key.id]
  firewall_ids = [hcloud_firewall.server.id]

  public_net {
    ipv4_enabled = true
    ipv6_enabled = true
  }

  lifecycle {
    # The image only boots the installer; NixOS replaces it, so a newer image must not replace the server.
    ignore_changes       = [image, ssh_keys]
    replace_triggered_by = [terraform_data.generation]
  }
}

locals {
  # Hetzner's images let root in on port 22 with the keys above.
  image_ssh_user = "root"
  image_ssh_port = 22
}
