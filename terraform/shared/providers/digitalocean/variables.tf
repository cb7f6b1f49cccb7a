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
  description = "Admin SSH public keys allowed into the image for the first install."
}

variable "ssh_port" {
  type        = number
  description = "SSH port of the installed NixOS."
}

variable "public_tcp_ports" {
  type        = list(number)
  default     = []
  description = "TCP ports the server's role serves to the world, e.g. [80, 443]."
}
