# A DigitalOcean droplet. DIGITALOCEAN_TOKEN comes from secrets/shared/env.yaml (the devcontainer's unlock).

resource "digitalocean_ssh_key" "admin" {
  for_each   = { for index, key in var.ssh_public_keys : tostring(index) => key }
  name       = "${var.name}-admin-${each.key}"
  public_key = each.value
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
    ignore_changes = [image, ssh_keys]
  }
}

resource "digitalocean_firewall" "server" {
  name        = var.name
  droplet_ids = [digitalocean_droplet.server.id]

  dynamic "inbound_rule" {
    for_each = toset(concat([local.image_ssh_port, var.ssh_port], var.public_tcp_ports))
    content {
      protocol         = "tcp"
      port_range       = tostring(inbound_rule.value)
      source_addresses = ["0.0.0.0/0", "::/0"]
    }
  }

  inbound_rule {
    protocol         = "udp"
    port_range       = "41641"
    source_addresses = ["0.0.0.0/0", "::/0"]
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
