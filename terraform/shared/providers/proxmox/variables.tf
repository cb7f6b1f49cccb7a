variable "name" {
  type        = string
  description = "VM name (also the NixOS host name)."
}

variable "node_name" {
  type        = string
  description = "Proxmox node to run the VM on."
}

variable "vm_id" {
  type        = number
  default     = null
  description = "VM id; null lets Proxmox pick the next free one."
}

variable "datastore_id" {
  type        = string
  default     = "local-lvm"
  description = "Datastore for the VM's disk and cloud-init drive."
}

variable "image_datastore_id" {
  type        = string
  default     = "local"
  description = "Datastore (with the \"import\" content type) the installer image is downloaded to."
}

variable "bridge" {
  type        = string
  default     = "vmbr0"
  description = "Network bridge the VM is attached to."
}

variable "mac_address" {
  type        = string
  description = "Fixed MAC address of the VM, for the DHCP reservation of ip_address."
}

variable "ip_address" {
  type        = string
  description = "The IPv4 address your DHCP server reserves for mac_address."
}

variable "public_ip" {
  type        = string
  default     = null
  description = "Address the internet reaches the VM at (e.g. your router's, with ports forwarded); defaults to ip_address."
}

variable "cores" {
  type        = number
  default     = 4
  description = "CPU cores."
}

variable "memory_mb" {
  type        = number
  default     = 8192
  description = "Memory in MiB."
}

variable "disk_gb" {
  type        = number
  default     = 64
  description = "Disk size in GiB."
}

variable "installer_image_url" {
  type        = string
  default     = "https://cloud.debian.org/images/cloud/trixie/20260712-2537/debian-13-genericcloud-amd64-20260712-2537.qcow2"
  description = "Cloud image the VM first boots; nixos-anywhere replaces it with NixOS."
}

variable "installer_image_sha256" {
  type        = string
  default     = "2cab162ddebb1ef083cca8f8261f77c93ae70f98252aabfeb1d8a28c30b191b1"
  description = "SHA-256 of installer_image_url (from the image directory's SHA512SUMS/SHA256SUMS)."
}

variable "ssh_public_keys" {
  type        = list(string)
  description = "Admin SSH public keys allowed into the image, for the install."
}

variable "generation" {
  type        = number
  description = "Install generation (generation.auto.tfvars): a new one replaces the VM with a fresh one from the cloud image."
}

variable "installed_generation" {
  type        = number
  description = "The last generation whose install has finished; while lower than generation, the firewall admits the install's SSH."
}

variable "public_gateway" {
  type        = bool
  description = "Whether the VM serves the public gateway (your router forwards 80/443 to it): the firewall admits 80/443 from Cloudflare's ranges only."
}

variable "headscale_port" {
  type        = number
  default     = null
  description = "Headscale's TCP port where this server runs the site's Headscale, else null: the firewall admits it and Headscale's STUN (3478/UDP) from anywhere."
}
