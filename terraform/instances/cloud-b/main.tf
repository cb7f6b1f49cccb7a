# cloud-b: Hetzner Cloud server, cloud-a's migration pair (nixos/instances/cloud-b).

locals {
  host = "cloud-b"
  site = jsondecode(file("${path.module}/../../../nixos/site.json"))
}

# Token: HCLOUD_TOKEN from secrets/shared/env.yaml.
provider "hcloud" {}

module "server" {
  source = "../../shared/providers/hcloud"

  name             = local.host
  server_type      = "cx33"
  location         = "nbg1"
  ssh_public_keys  = local.site.adminSshKeys
  ssh_port         = local.site.sshPort
  public_tcp_ports = [80, 443]
}

module "nixos" {
  source = "../../shared/nixos"

  host             = local.host
  generation       = var.generation
  instance_id      = module.server.id
  ssh_host         = module.server.ssh_host
  initial_ssh_user = module.server.ssh_user
  initial_ssh_port = module.server.ssh_port
  ssh_user         = local.site.adminUser
  ssh_port         = local.site.sshPort
}
