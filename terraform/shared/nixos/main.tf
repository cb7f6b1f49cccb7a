# Installs NixOS on a server with nixos-anywhere (kexec, disko, install, reboot), then keeps it at the
# flake's configuration with nixos-rebuild on every apply. The two reach the server on different paths:
# the install through the provider's image on its public (or LAN) address, everything after it over the
# tailnet, where the installed NixOS takes SSH (nixos/modules/firewall-rules.nix). nixos-anywhere's
# all-in-one module sends both to one host, so its parts are used here instead.

locals {
  repo       = abspath("${path.module}/../../..")
  flake      = "${local.repo}/nixos"
  build_attr = "${local.flake}#nixosConfigurations.${var.host}.config.system.build"
}

module "system" {
  source    = "github.com/nix-community/nixos-anywhere//terraform/nix-build?ref=1.13.0"
  attribute = "${local.build_attr}.toplevel"
}

module "partitioner" {
  source    = "github.com/nix-community/nixos-anywhere//terraform/nix-build?ref=1.13.0"
  attribute = "${local.build_attr}.diskoScript"
}

# Every generation is a fresh machine from the provider's image (its module replaces the machine when
# the generation changes), so the install always logs in as the image does; after kexec it reconnects
# to the same address on port 22, where its installer listens (src/nixos-anywhere.sh: runKexec, whose
# --post-kexec-ssh-port defaults to 22).
module "install" {
  source = "github.com/nix-community/nixos-anywhere//terraform/install?ref=1.13.0"

  nixos_system      = module.system.result.out
  nixos_partitioner = module.partitioner.result.out
  target_host       = var.install_host
  target_user       = var.install_user
  target_port       = var.install_port

  # A new machine or a new generation means a fresh install.
  instance_id = "${var.instance_id}-${var.generation}"

  # Gives the server its own SSH host key, decrypted from its secrets file.
  extra_files_script = "${path.module}/extra-files.sh"
  extra_environment = {
    SECRETS_FILE = "${local.repo}/secrets/hosts/${var.host}.yaml"
  }
}

# The installed server joins the tailnet on its first boot; the rebuild retries its first connection
# while it does (nixos-rebuild/deploy.sh).
module "rebuild" {
  source     = "github.com/nix-community/nixos-anywhere//terraform/nixos-rebuild?ref=1.13.0"
  depends_on = [module.install]

  nixos_system = module.system.result.out
  target_host  = var.ssh_host
  target_user  = var.ssh_user
  target_port  = var.ssh_port
}

# Servers installed while this module used nixos-anywhere's all-in-one module keep their install and
# rebuild in the state: without the first, Terraform would see a new install and start it against a
# server that takes no SSH outside the tailnet (checked with terraform plan on a state of that shape).
moved {
  from = module.install.module.install
  to   = module.install
}

moved {
  from = module.install.module.nixos-rebuild[0]
  to   = module.rebuild
}
