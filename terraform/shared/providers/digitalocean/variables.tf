variable "name" {
  type        = string
  description = "Droplet name (also the NixOS host name)."
}

variable "size" {
  type        = string
  description = "Droplet size slug (`doctl compute size list`), e.g. s-4vcpu-8gb."
}

variable "region" {
  type        = string
  description = "Region slug, e.g. fra1, ams3."
}

variable "image" {
  type        = string
  default     = "debian-13-x64"
  description = "Image the droplet first boots; nixos-anywhere replaces it with NixOS."
}

variable "ssh_public_keys" {
  type        = list(string)
  description = "Admin SSH public keys allowed into the image, for the install."
}

variable "generation" {
  type        = number
  description = "Install generation (generation.auto.tfvars): a new one replaces the droplet with a fresh one from the image."
}

variable "installed_generation" {
  type        = number
  description = "The last generation whose install has finished; while lower than generation, the firewall admits the install's SSH."
}

variable "public_gateway" {
  type        = bool
  description = "Whether the server serves the public gateway: the firewall admits 80/443 from Cloudflare's ranges only."
}

variable "headscale_port" {
  type        = number
  default     = null
  description = "Headscale's TCP port where this server runs the site's Headscale, else null: the firewall admits it and Headscale's STUN (3478/UDP) from anywhere."
}
