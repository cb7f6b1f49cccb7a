# Install generation: `task servers:reinstall HOST=<host>` bumps it, which replaces the machine with a fresh
# one from the provider's image and installs NixOS on it.
generation = 1
# The last generation whose install has finished. While it is lower than `generation`, the provider's
# firewall lets anyone reach the image's SSH port (22), the install's only way in; once the install
# has finished, set it to `generation` and apply again to close that port (Terraform warns until then).
installed_generation = 0
