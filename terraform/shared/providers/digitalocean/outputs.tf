output "id" {
  value       = digitalocean_droplet.server.id
  description = "Droplet id."
}

output "ssh_host" {
  value       = digitalocean_droplet.server.ipv4_address
  description = "Address to reach the droplet over SSH."
  # The install starts once the firewall admits it (a droplet has none before).
  depends_on = [digitalocean_firewall.server]
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
  value       = digitalocean_droplet.server.ipv4_address
  description = "The node's Kubernetes InternalIP (k3s uses the interface of the default route: the public one)."
}

output "public_ip" {
  value       = digitalocean_droplet.server.ipv4_address
  description = "Public IPv4."
}
