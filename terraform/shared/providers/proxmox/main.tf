# A Proxmox VE VM that first boots a Debian cloud image (cloud-init puts the admin keys on a sudo user)
# for nixos-anywhere to install NixOS over. The VM gets a fixed MAC address: reserve an IP address for
# it in your DHCP server, so the installer and NixOS (both DHCP) come up at `ip_address`.
# The API token comes from PROXMOX_VE_API_TOKEN (secrets/shared/env.yaml, the devcontainer's unlock).
# Needs Proxmox VE 8.4 or newer (disk import from the "import" content type).

resource "proxmox_virtual_environment_download_file" "installer" {
  node_name          = var.node_name
  datastore_id       = var.image_datastore_id
  content_type       = "import"
  url                = var.installer_image_url
  checksum           = var.installer_image_sha256
  checksum_algorithm = "sha256"
  file_name          = "${var.name}-installer.qcow2"
}

# A new generation is a new VM from the cloud image: the installed NixOS takes SSH over the tailnet
# only, and nixos-anywhere's installer (after kexec) would not be reachable there.
resource "terraform_data" "generation" {
  input = var.generation
}

resource "proxmox_virtual_environment_vm" "server" {
  name          = var.name
  node_name     = var.node_name
  vm_id         = var.vm_id
  on_boot       = true
  scsi_hardware = "virtio-scsi-single"
  # Without a guest agent in the installer image, shut down through ACPI and stop when that hangs.
  stop_on_destroy = true

  agent {
    enabled = false
  }

  cpu {
    cores = var.cores
    type  = "x86-64-v2-AES"
  }

  memory {
    dedicated = var.memory_mb
  }

  disk {
    datastore_id = var.datastore_id
    import_from  = proxmox_virtual_environment_download_file.installer.id
    interface    = "scsi0"
    size         = var.disk_gb
    discard      = "on"
    iothread     = true
  }

  network_device {
    bridge      = var.bridge
    mac_address = var.mac_address
    firewall    = true
  }

  operating_system {
    type = "l26"
  }

  initialization {
    datastore_id = var.datastore_id
    ip_config {
      ipv4 {
        address = "dhcp"
      }
    }
    user_account {
      username = local.image_ssh_user
      keys     = var.ssh_public_keys
    }
  }

  lifecycle {
    # The installer image and cloud-init only matter for the first boot; NixOS replaces both.
    ignore_changes       = [disk[0].import_from, initialization]
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

locals {
  # Proxmox takes a rule's sources as one comma-separated list of a single address family, and applies
  # a rule without sources to both families (pve-firewall(8), "source").
  firewall_rules = flatten([
    for rule in module.perimeter.inbound_rules : contains(rule.sources.ipv4, "0.0.0.0/0") ? [merge(rule, { source = null })] : [
      for family in ["ipv4", "ipv6"] : merge(rule, { source = join(",", rule.sources[family]) })
      if length(rule.sources[family]) > 0
    ]
  ])
}

# Proxmox applies it on the host's bridge, outside the VM: what it drops never reaches the node, not
# even Cilium's eBPF, which serves the public gateway's LoadBalancer before netfilter.
resource "proxmox_virtual_environment_firewall_options" "server" {
  node_name     = var.node_name
  vm_id         = proxmox_virtual_environment_vm.server.vm_id
  enabled       = true
  dhcp          = true
  input_policy  = "DROP"
  output_policy = "ACCEPT"
}

resource "proxmox_virtual_environment_firewall_rules" "server" {
  node_name = var.node_name
  vm_id     = proxmox_virtual_environment_vm.server.vm_id

  dynamic "rule" {
    for_each = local.firewall_rules
    content {
      type    = "in"
      action  = "ACCEPT"
      proto   = rule.value.protocol
      dport   = tostring(rule.value.port)
      source  = rule.value.source
      comment = rule.value.description
    }
  }
}

locals {
  # The cloud-init user of the Debian image: passwordless sudo, which nixos-anywhere uses.
  image_ssh_user = "debian"
  image_ssh_port = 22
}
