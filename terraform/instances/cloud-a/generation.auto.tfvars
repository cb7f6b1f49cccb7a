# Install generation: `task servers:reinstall HOST=<host>` bumps it, which wipes and reinstalls the server.
generation = 1
