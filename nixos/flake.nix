{
  description = "NixOS and k3s for each homelab server (one nixosConfiguration per ../servers/<name>.json)";

  # Inputs are pinned by tag or commit in the URL, so `nix flake lock` resolves the same sources on every
  # machine. To upgrade, change the revision here and commit the refreshed flake.lock.
  inputs = {
    # nixos-26.05
    nixpkgs.url = "github:NixOS/nixpkgs/cf5e76507c6e23b59f7e0ffcc7baa2a39ddd8442";
    disko = {
      url = "github:nix-community/disko/v1.13.0";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    sops-nix = {
      url = "github:Mic92/sops-nix/dec4d8eac700dcd2fe3c020857d3ee220ec147f1";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      nixpkgs,
      disko,
      sops-nix,
      ...
    }:
    let
      inherit (nixpkgs) lib;
      system = "x86_64-linux";
      # One server per ../servers/<name>.json, the repository root being in the flake's source (servers.nix).
      servers = import ./servers.nix;
      server =
        name:
        lib.nixosSystem {
          modules = [
            disko.nixosModules.disko
            sops-nix.nixosModules.sops
            ./modules
          ]
          ++ servers.modules name;
        };
    in
    {
      nixosConfigurations = lib.genAttrs servers.names server;

      # The nixos-rebuild of the pinned nixpkgs, for `task servers:rebuild` on machines without NixOS.
      packages.${system}.nixos-rebuild = nixpkgs.legacyPackages.${system}.nixos-rebuild;
    };
}
