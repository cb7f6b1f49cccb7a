output "inbound_rules" {
  value       = local.inbound_rules
  description = "What the firewall admits: description, protocol, port and sources ({ ipv4, ipv6 } lists of CIDRs)."
}
