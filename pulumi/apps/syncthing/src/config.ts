import { domainName, storageConfig } from "@infra/core";
import { z } from "zod";

/** Syncthing's project config (`syncthing:<key>`). */
export const syncthingConfig = z.object({
  /** The GUI's DNS name, private to the tailnet; `syncthing.<domain>` by default. */
  hostname: domainName.optional(),
  /**
   * The name devices dial for the sync protocol (`tcp://<name>:22000`, `quic://<name>:22000`):
   * the app's fixed cluster IP, reached through the tailnet; `sync.<domain>` by default.
   */
  syncHostname: domainName.optional(),
  /** The `/var/syncthing` volume: the device keys and config, and every synced folder. */
  storage: storageConfig("50Gi"),
  /**
   * Global discovery: announce this device to Syncthing's discovery servers and look others up
   * there (HTTPS to them). Devices in the tailnet need none of it: they dial `syncHostname`.
   */
  globalDiscovery: z.boolean().default(false),
  /**
   * Syncthing's public relays, for devices that reach neither `syncHostname` nor this device
   * directly (HTTPS to the relay pool, then any relay's address on 22067). Useful only with
   * `globalDiscovery`, through which devices learn the relay this device uses.
   */
  relays: z.boolean().default(false),
});

export type SyncthingSettings = z.output<typeof syncthingConfig>;
