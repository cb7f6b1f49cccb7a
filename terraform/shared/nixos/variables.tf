variable "host" {
  type        = string
  description = "Server name: its nixosConfiguration (nixos/instances/<host>) and secrets/hosts/<host>.yaml."
}

variable "generation" {
  type        = number
  description = "Install generation, starting at 1. Bumping it wipes the disk and reinstalls NixOS."

  validation {
    condition     = var.generation >= 1 && floor(var.generation) == var.generation
    error_message = "generation is a whole number from 1."
  }
}

variable "instance_id" {
  type        = string
  description = "The provider's id of the machine; a replaced machine is installed anew."
}

variable "ssh_host" {
  type        = string
  description = "Address to reach the server over SSH."
}

variable "initial_ssh_user" {
  type        = string
  description = "SSH user of the provider's image, used by the first generation's install."
}

variable "initial_ssh_port" {
  type        = number
  description = "SSH port of the provider's image, used by the first generation's install."
}

variable "ssh_user" {
  type        = string
  description = "SSH user of the installed NixOS (nixos/site.json adminUser)."
}

variable "ssh_port" {
  type        = number
  description = "SSH port of the installed NixOS (nixos/site.json sshPort)."
}
