# The SSH login that works once NixOS is installed: over the tailnet.

output "ssh_host" {
  value       = var.ssh_host
  description = "The installed server's name on the tailnet."
  depends_on  = [module.install]
}

output "ssh_user" {
  value       = var.ssh_user
  description = "SSH user of the installed server."
  depends_on  = [module.install]
}

output "ssh_port" {
  value       = var.ssh_port
  description = "SSH port of the installed server."
  depends_on  = [module.install]
}
