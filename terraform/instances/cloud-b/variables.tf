variable "generation" {
  type        = number
  description = "Install generation (generation.auto.tfvars); `task servers:reinstall` bumps it."
}
