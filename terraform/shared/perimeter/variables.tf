variable "generation" {
  type        = number
  description = "The install generation the server should run (generation.auto.tfvars)."
}

variable "installed_generation" {
  type        = number
  description = "The last generation whose install has finished (generation.auto.tfvars); lower than generation while installing."

  validation {
    condition     = var.installed_generation >= 0 && var.installed_generation <= var.generation
    error_message = "installed_generation is between 0 (nothing installed yet) and generation."
  }
}

variable "install_ssh_port" {
  type        = number
  description = "The SSH port of the provider's image, which nixos-anywhere's installer listens on too."
}

variable "public_gateway" {
  type        = bool
  description = "Whether the server serves the public gateway (80/443, from Cloudflare only): the same as homelab.reachableFromInternet of its NixOS instance."
}

variable "headscale_port" {
  type        = number
  default     = null
  description = "Headscale's TCP port (servers/site.json tailnet.headscale.port, 8443 by default) where this server runs the site's Headscale, else null: the firewall admits it and Headscale's STUN (3478/UDP) from anywhere."
}
