import { stringify } from "smol-toml";

/** Garage's ports: S3 API, RPC between nodes (the node's own only, here) and admin API. */
export const garagePorts = { s3: 3900, rpc: 3901, admin: 3903 } as const;

/** Where the store keeps its metadata and its data blocks, on its one volume. */
export const garageDirs = {
  root: "/var/lib/garage",
  meta: "/var/lib/garage/meta",
  data: "/var/lib/garage/data",
} as const;

export interface GarageConfigArgs {
  /** The S3 region the store answers as. */
  region: string;
}

/**
 * `garage.toml` of a single-node store: one copy of everything (`replication_factor = 1`), LMDB
 * metadata (Garage's default engine, the one its snapshots copy), S3 on path-style URLs only (no
 * `root_domain`), the admin API for the jobs. The RPC secret and admin token are no part of it:
 * Garage reads them from GARAGE_RPC_SECRET and GARAGE_ADMIN_TOKEN.
 */
export function garageConfig(args: GarageConfigArgs): string {
  return stringify({
    metadata_dir: garageDirs.meta,
    data_dir: garageDirs.data,
    db_engine: "lmdb",
    replication_factor: 1,
    rpc_bind_addr: `[::]:${garagePorts.rpc}`,
    rpc_public_addr: `127.0.0.1:${garagePorts.rpc}`,
    s3_api: { s3_region: args.region, api_bind_addr: `[::]:${garagePorts.s3}` },
    admin: { api_bind_addr: `[::]:${garagePorts.admin}` },
  });
}
