variable "generation" {
  type        = number
  description = "Install generation (generation.auto.tfvars); `task servers:reinstall` bumps it."
}

variable "installed_generation" {
  type        = number
  description = "The last generation whose install has finished (generation.auto.tfvars); until it equals generation, the provider's firewall admits the install's SSH."
}
