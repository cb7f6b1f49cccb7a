# local-a: Proxmox VM at home, its apps reached over the tailnet (nixos/instances/local-a).

locals {
  host = "local-a"
  site = jsondecode(file("${path.module}/../../../nixos/site.json"))
}

# Token: PROXMOX_VE_API_TOKEN from secrets/shared/env.yaml.
provider "proxmox" {
  endpoint = var.proxmox_endpoint
  insecure = var.proxmox_insecure
}

module "server" {
  source = "../../shared/providers/proxmox"

  name            = local.host
  node_name       = var.proxmox_node
  datastore_id    = var.proxmox_datastore
  bridge          = var.proxmox_bridge
  mac_address     = var.mac_address
  ip_address      = var.ip_address
  ssh_public_keys = local.site.adminSshKeys

  generation           = var.generation
  installed_generation = var.installed_generation
  # nixos/instances/local-a: reachableFromInternet = true (the router forwards 80/443 to it).
  public_gateway = true
}

module "nixos" {
  source = "../../shared/nixos"

  host         = local.host
  generation   = var.generation
  instance_id  = module.server.id
  install_host = module.server.ssh_host
  install_user = module.server.ssh_user
  install_port = module.server.ssh_port
  # The installed server takes SSH over the tailnet only (MagicDNS name).
  ssh_host = "${local.host}.${local.site.tailnet}"
  ssh_user = local.site.adminUser
  ssh_port = local.site.sshPort
}
