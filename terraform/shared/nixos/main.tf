# Installs NixOS on a server with nixos-anywhere (kexec, disko, install, reboot), then keeps it at the
# flake's configuration with nixos-rebuild on every apply. Bumping `generation` reinstalls.

locals {
  repo  = abspath("${path.module}/../../..")
  flake = "${local.repo}/nixos"
  # The first generation finds the provider's image (its SSH user and port); later ones find the NixOS
  # this module installed, which only lets the admin user in on the hardened port.
  first_install = var.generation == 1
}

module "install" {
  source = "github.com/nix-community/nixos-anywhere//terraform/all-in-one?ref=1.13.0"

  nixos_system_attr      = "${local.flake}#nixosConfigurations.${var.host}.config.system.build.toplevel"
  nixos_partitioner_attr = "${local.flake}#nixosConfigurations.${var.host}.config.system.build.diskoScript"

  target_host  = var.ssh_host
  target_user  = var.ssh_user
  target_port  = var.ssh_port
  install_user = local.first_install ? var.initial_ssh_user : var.ssh_user
  install_port = tostring(local.first_install ? var.initial_ssh_port : var.ssh_port)

  # A new machine or a new generation means a fresh install.
  instance_id = "${var.instance_id}-${var.generation}"

  # Gives the server its own SSH host key, decrypted from its secrets file.
  extra_files_script = "${path.module}/extra-files.sh"
  extra_environment = {
    SECRETS_FILE = "${local.repo}/secrets/hosts/${var.host}.yaml"
  }
}
