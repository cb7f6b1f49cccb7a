# A DigitalOcean droplet. Its facts come from servers/<name>.json, <name> being this root's directory:
# every root of this kind is a copy of terraform/templates/digitalocean (tools/static-checks compares them
# byte for byte), and what differs between servers is in their descriptions and generation.auto.tfvars.

locals {
  host   = basename(abspath(path.module))
  server = jsondecode(file("${path.module}/../../../servers/${local.host}.json"))
  site   = jsondecode(file("${path.module}/../../../servers/site.json"))
}

# A description of another kind belongs in a copy of that kind's template; this stops the plan with
# the reason (next to any complaint about provider fields this kind does not have).
resource "terraform_data" "description" {
  lifecycle {
    precondition {
      condition     = local.server.provider.kind == "digitalocean"
      error_message = "servers/${local.host}.json has provider kind \"${local.server.provider.kind}\", but terraform/instances/${local.host} is a copy of terraform/templates/digitalocean: copy terraform/templates/${local.server.provider.kind} there instead (an \"existing\" server has no Terraform root)."
    }
  }
}

# Token: DIGITALOCEAN_TOKEN from secrets/shared/env.yaml.
provider "digitalocean" {}

module "server" {
  source = "../../shared/providers/digitalocean"

  name            = local.host
  size            = local.server.provider.size
  region          = local.server.provider.region
  ssh_public_keys = local.site.admin.sshKeys

  generation           = var.generation
  installed_generation = var.installed_generation
  public_gateway       = local.server.reachableFromInternet
  # Where this server runs the site's Headscale: its port, with the schema's default (siteSchema).
  headscale_port = try(local.site.tailnet.headscale.server, null) == local.host ? try(local.site.tailnet.headscale.port, 8443) : null
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
  ssh_host = "${local.host}.${local.site.tailnet.name}"
  ssh_user = local.site.admin.user
  ssh_port = local.site.admin.sshPort
}
