# One disk, partitioned by disko when nixos-anywhere installs the server.
{ config, lib, ... }:
{
  options.homelab.disk = lib.mkOption {
    type = lib.types.str;
    default = "/dev/sda";
    description = "The disk to install on (Hetzner Cloud and Proxmox virtio-scsi both name it /dev/sda).";
  };

  config.disko.devices.disk.main = {
    type = "disk";
    device = config.homelab.disk;
    content = {
      type = "gpt";
      partitions = {
        # GRUB's core image when the machine boots with BIOS.
        bios = {
          size = "1M";
          type = "EF02";
        };
        esp = {
          size = "512M";
          type = "EF00";
          content = {
            type = "filesystem";
            format = "vfat";
            mountpoint = "/boot";
            mountOptions = [ "umask=0077" ];
          };
        };
        root = {
          size = "100%";
          content = {
            type = "filesystem";
            format = "ext4";
            mountpoint = "/";
          };
        };
      };
    };
  };
}
