# The servers this flake builds: one per description ../servers/<name>.json (besides site.json and the
# JSON schemas there), named after its file; flake.nix turns each into a nixosConfiguration. Builtins
# only (no nixpkgs), so tools/static-checks evaluates the flake's servers with nix-instantiate alone.
#
# ../servers is outside the flake's directory, and still inside the flake's source: Nix copies a flake
# that lives in a git repository to the store from the repository's root, so a flake in a subdirectory
# reads its parent directories (NixOS/nix#4414, "flakes in subdirectories can access files in parent
# directories"; modules/server.nix reads ../../secrets the same way). Only files git tracks are copied.
let
  dir = ../servers;
  entries = builtins.readDir dir;
  hasSuffix =
    suffix: text:
    let
      length = builtins.stringLength text;
      suffixLength = builtins.stringLength suffix;
    in
    length >= suffixLength && builtins.substring (length - suffixLength) suffixLength text == suffix;
  isDescription =
    file:
    entries.${file} == "regular"
    && hasSuffix ".json" file
    && file != "site.json"
    && !hasSuffix ".schema.json" file;
  withoutJson = file: builtins.substring 0 (builtins.stringLength file - 5) file;
  # Host-specific extras (hardware, say) that no description field covers: instances/<name>, if any.
  instances = if builtins.pathExists ./instances then builtins.readDir ./instances else { };
in
rec {
  names = map withoutJson (builtins.filter isDescription (builtins.attrNames entries));

  description = name: builtins.fromJSON (builtins.readFile (dir + "/${name}.json"));

  # What the description of server `name` sets in its NixOS configuration.
  settings =
    name:
    let
      server = description name;
    in
    {
      networking.hostName = name;
      homelab = {
        inherit (server) role reachableFromInternet;
        kubernetes = {
          inherit (server.network) clusterCidr serviceCidr;
        };
      };
    };

  modules =
    name:
    [ (settings name) ]
    ++ (if (instances.${name} or null) == "directory" then [ (./instances + "/${name}") ] else [ ]);
}
