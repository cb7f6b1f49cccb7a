variable "generation" {
  type        = number
  description = "Install generation (generation.auto.tfvars); `task servers:reinstall` bumps it."
}

variable "installed_generation" {
  type        = number
  description = "The last generation whose install has finished (generation.auto.tfvars); until it equals generation, the provider's firewall admits the install's SSH."
}

variable "proxmox_endpoint" {
  type        = string
  description = "Proxmox VE API URL, e.g. https://pve.lan:8006/."
}

variable "proxmox_insecure" {
  type        = bool
  default     = false
  description = "Accept the API's self-signed certificate."
}

variable "proxmox_node" {
  type        = string
  description = "Proxmox node the VM runs on."
}

variable "proxmox_datastore" {
  type        = string
  description = "Datastore for the VM's disk."
}

variable "proxmox_bridge" {
  type        = string
  description = "Network bridge of the VM."
}

variable "mac_address" {
  type        = string
  description = "Fixed MAC address of the VM; reserve ip_address for it in your DHCP server."
}

variable "ip_address" {
  type        = string
  description = "IPv4 address reserved for the VM."
}
