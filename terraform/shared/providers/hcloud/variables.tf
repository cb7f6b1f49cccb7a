variable "name" {
  type        = string
  description = "Server name (also the NixOS host name)."
}

variable "server_type" {
  type        = string
  description = "Hetzner server type (`hcloud server-type list`), e.g. cx33."
}

variable "location" {
  type        = string
  description = "Hetzner location, e.g. fsn1, nbg1, hel1."
}

variable "image" {
  type        = string
  default     = "debian-13"
  description = "Image the server first boots; nixos-anywhere replaces it with NixOS."
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
