# A DigitalOcean droplet. DIGITALOCEAN_TOKEN comes from secrets/shared/env.yaml (the devcontainer's unlock).

resource "digitalocean_ssh_key" "admin" {
  for_each   = { for index, key in var.ssh_public_keys : tostring(index) => key }
  name       = "${var.name}-admin-${each.key}"
  public_key = each.value
}

# A new generation is a new droplet from the provider's image: the installed NixOS takes SSH over the
# tailnet only, and nixos-anywhere's installer (after kexec) would not be reachable there.
resource "terraform_data" "generation" {
  input = var.generation
}

resource "digitalocean_droplet" "server" {
  name     = var.name
  size     = var.size
  region   = var.region
  image    = var.image
  ipv6     = true
  ssh_keys = [for key in digitalocean_ssh_key.admin : key.fingerprint]

  lifecycle {
    # The image only boots the installer; NixOS replaces it, so a newer image must not replace the droplet.
    ignore_changes       = [image, ssh_keys]
    replace_triggered_by = [terraform_data.generation]
  }
}

module "perimeter" {
  source = "../../perimeter"

  generation           = var.generation
  installed_generation = var.installed_generation
  install_ssh_port     = local.image_ssh_port
  public_gateway       = var.public_gateway
  headscale_port       = var.headscale_port
}

# DigitalOcean applies it outside the droplet: what it drops never reaches the node, not even Cilium's
# eBPF, which serves the public gateway's LoadBalancer before netfilter.
resource "digitalocean_firewall" "server" {
  name        = var.name
  droplet_ids = [digitalocean_droplet.server.id]

  dynamic "inbound_rule" {
    for_each = module.perimeter.inbound_rules
    content {
      protocol         = inbound_rule.value.protocol
      port_range       = tostring(inbound_rule.value.port)
      source_addresses = concat(inbound_rule.value.sources.ipv4, inbound_rule.value.sources.ipv6)
    }
  }

  dynamic "outbound_rule" {
    for_each = toset(["tcp", "udp"])
    content {
      protocol              = outbound_rule.value
      port_range            = "1-65535"
      destination_addresses = ["0.0.0.0/0", "::/0"]
    }
  }

  outbound_rule {
    protocol              = "icmp"
    destination_addresses = ["0.0.0.0/0", "::/0"]
  }
}

locals {
  # DigitalOcean's images let root in on port 22 with the keys above.
  image_ssh_user = "root"
  image_ssh_port = 22
}
