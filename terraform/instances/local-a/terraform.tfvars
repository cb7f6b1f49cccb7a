# EXAMPLE values: replace them with your Proxmox host's and your network's (docs/servers.md).
proxmox_endpoint  = "https://pve.example.lan:8006/"
proxmox_insecure  = true
proxmox_node      = "pve"
proxmox_datastore = "local-lvm"
proxmox_bridge    = "vmbr0"
mac_address       = "BC:24:11:00:00:01"
ip_address        = "192.168.1.50"
