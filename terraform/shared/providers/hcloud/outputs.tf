output "id" {
  value       = tostring(hcloud_server.server.id)
  description = "Hetzner server id."
}

output "ssh_host" {
  value       = hcloud_server.server.ipv4_address
  description = "Address to reach the server over SSH."
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
  value       = hcloud_server.server.ipv4_address
  description = "The node's Kubernetes InternalIP (no private network: its public IPv4)."
}

output "public_ip" {
  value       = hcloud_server.server.ipv4_address
  description = "Public IPv4."
}
