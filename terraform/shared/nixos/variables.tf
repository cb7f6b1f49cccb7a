variable "host" {
  type        = string
  description = "Server name: its description (servers/<host>.json), nixosConfiguration and secrets/hosts/<host>.yaml."
}

variable "generation" {
  type        = number
  description = "Install generation, starting at 1. A new one is a new machine, installed anew."

  validation {
    condition     = var.generation >= 1 && floor(var.generation) == var.generation
    error_message = "generation is a whole number from 1."
  }
}

variable "instance_id" {
  type        = string
  description = "The provider's id of the machine; a replaced machine is installed anew."
}

variable "install_host" {
  type        = string
  description = "Address the install reaches the provider's image at (the provider module's ssh_host)."
}

variable "install_user" {
  type        = string
  description = "SSH user of the provider's image (the provider module's ssh_user)."
}

variable "install_port" {
  type        = number
  description = "SSH port of the provider's image (the provider module's ssh_port); nixos-anywhere's installer listens on it too."
}

variable "ssh_host" {
  type        = string
  description = "The installed server's name on the tailnet (<host>.<tailnet>), the only place it takes SSH."
}

variable "ssh_user" {
  type        = string
  description = "SSH user of the installed NixOS (servers/site.json admin.user)."
}

variable "ssh_port" {
  type        = number
  description = "SSH port of the installed NixOS (servers/site.json admin.sshPort)."
}
