# The base of every server: boot, users, SSH, time, Nix, and where its secrets come from.
{
  config,
  lib,
  modulesPath,
  ...
}:
let
  site = lib.importJSON ../../servers/site.json;
in
{
  # Hetzner Cloud servers and Proxmox VMs are both QEMU/KVM guests with virtio devices.
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  options.homelab.role = lib.mkOption {
    type = lib.types.enum [
      # A rented server with a public address: public apps (through Cloudflare) and private ones.
      "cloud"
      # A server at home: its apps are reached over the tailnet.
      "home"
    ];
    description = "What the server is for; decides whether it is reachable from the internet by default (firewall.nix).";
  };

  config = {
    nixpkgs.hostPlatform = "x86_64-linux";
    # The release the first installation was made with; it does not change when nixpkgs is upgraded.
    system.stateVersion = "26.05";

    boot.initrd.availableKernelModules = [
      "ahci"
      "xhci_pci"
      "virtio_pci"
      "virtio_scsi"
      "sd_mod"
      "sr_mod"
    ];
    # GRUB for both BIOS (Hetzner Cloud x86, Proxmox SeaBIOS) and UEFI; disko adds the boot device.
    boot.loader.grub = {
      enable = true;
      efiSupport = true;
      efiInstallAsRemovable = true;
    };

    time.timeZone = site.timeZone;
    services.timesyncd.enable = true;

    # Upgrades are a reviewed flake.lock change rolled out with `task servers:rebuild`, never on their own.
    system.autoUpgrade.enable = false;
    nix.settings = {
      experimental-features = [
        "nix-command"
        "flakes"
      ];
      # nixos-rebuild --target-host copies closures as the admin user.
      trusted-users = [ "@wheel" ];
    };
    nix.gc = {
      automatic = true;
      dates = "weekly";
      options = "--delete-older-than 30d";
    };

    users.mutableUsers = false;
    users.users.${site.admin.user} = {
      isNormalUser = true;
      extraGroups = [ "wheel" ];
      openssh.authorizedKeys.keys = site.admin.sshKeys;
    };
    # The admin has no password (keys only), so sudo cannot ask for one.
    security.sudo.wheelNeedsPassword = false;

    services.openssh = {
      enable = true;
      # Reachable over the tailnet only (firewall.nix).
      ports = [ site.admin.sshPort ];
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitRootLogin = "no";
      };
      # Only the Ed25519 key, which nixos-anywhere places from secrets/hosts/<host>.yaml so that it
      # survives reinstalls; sops-nix derives the server's age key from it.
      hostKeys = [
        {
          path = "/etc/ssh/ssh_host_ed25519_key";
          type = "ed25519";
        }
      ];
    };

    sops = {
      defaultSopsFile = ../../secrets/hosts/${config.networking.hostName}.yaml;
      age.sshKeyPaths = [ "/etc/ssh/ssh_host_ed25519_key" ];
    };
  };
}
