output "id" {
  value       = tostring(proxmox_virtual_environment_vm.server.vm_id)
  description = "Proxmox VM id."
}

output "ssh_host" {
  value       = var.ip_address
  description = "Address to reach the VM over SSH."
  # The install starts once the firewall admits it (its input policy drops everything else).
  depends_on = [proxmox_virtual_environment_firewall_rules.server, proxmox_virtual_environment_firewall_options.server]
}

output "ssh_port" {
  value       = local.image_ssh_port
  description = "SSH port of the image (every install)."
}

output "ssh_user" {
  value       = local.image_ssh_user
  description = "SSH user of the image (every install)."
}

output "internal_ip" {
  value       = var.ip_address
  description = "The node's Kubernetes InternalIP (its LAN address)."
}

output "public_ip" {
  value       = coalesce(var.public_ip, var.ip_address)
  description = "Address the internet reaches the VM at."
}
