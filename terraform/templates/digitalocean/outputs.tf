# The same outputs as every provider module; the Pulumi `shared` project reads them from this root's
# terraform.tfstate. ssh_host, ssh_user and ssh_port are the installed NixOS's login, over the tailnet.

output "id" {
  value = module.server.id
}

output "ssh_host" {
  value = module.nixos.ssh_host
}

output "ssh_port" {
  value = module.nixos.ssh_port
}

output "ssh_user" {
  value = module.nixos.ssh_user
}

output "internal_ip" {
  value = module.server.internal_ip
}

output "public_ip" {
  value = module.server.public_ip
}
