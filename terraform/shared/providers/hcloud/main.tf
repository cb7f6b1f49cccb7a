# A Hetzner Cloud server. HCLOUD_TOKEN comes from secrets/shared/env.yaml (the devcontainer's unlock).

resource "hcloud_ssh_key" "admin" {
  for_each   = { for index, key in var.ssh_public_keys : tostring(index) => key }
  name       = "${var.name}-admin-${each.key}"
  public_key = each.value
}

resource "hcloud_firewall" "server" {
  name = var.name

  dynamic "rule" {
    for_each = toset(concat([local.image_ssh_port, var.ssh_port], var.public_tcp_ports))
    content {
      direction  = "in"
      protocol   = "tcp"
      port       = tostring(rule.value)
      source_ips = ["0.0.0.0/0", "::/0"]
    }
  }

  rule {
    description = "Tailscale direct connections"
    direction   = "in"
    protocol    = "udp"
    port        = "41641"
    source_ips  = ["0.0.0.0/0", "::/0"]
  }
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
    ignore_changes = [image, ssh_keys]
  }
}

locals {
  # Hetzner's images let root in on port 22 with the keys above.
  image_ssh_user = "root"
  image_ssh_port = 22
}
