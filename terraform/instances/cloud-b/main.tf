# cloud-b: Hetzner Cloud server, cloud-a's migration pair (nixos/instances/cloud-b).

locals {
  host = "cloud-b"
  site = jsondecode(file("${path.module}/../../../nixos/site.json"))
}

# Token: HCLOUD_TOKEN from secrets/shared/env.yaml.
provider "hcloud" {}

module "server" {
  source = "../../shared/providers/hcloud"

  name            = local.host
  server_type     = "cx33"
  location        = "nbg1"
  ssh_public_keys = local.site.adminSshKeys

  generation           = var.generation
  installed_generation = var.installed_generation
  # nixos/instances/cloud-b: reachableFromInternet = true.
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
