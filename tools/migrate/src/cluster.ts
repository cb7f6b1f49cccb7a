import type { AppRepository } from "./repository";

/** The app's database, as its backups hold it (dumped with the app's credentials). */
export interface AppDatabase {
  kind: "postgresql" | "mariadb" | "mysql";
  /** The database's name (its dump in a snapshot is `<name>.<ext>`). */
  name: string;
  /** Its user's name. */
  user: string;
}

/** What a stack says about an app it runs: its repository and its database. */
export interface AppBackups {
  repository: AppRepository;
  database?: AppDatabase;
  /** Its buckets on the server's object store, which the store's own backups hold, not the app's. */
  buckets?: string[];
}

/**
 * What a migration asks of the servers: each call does what `pulumi` and `kubectl` do, and
 * returns when it is done (the rehearsal in the tests stands in for them on local data).
 */
export interface Cluster {
  /** `pulumi up` of a project on a stack, rendering what the placement file says now. */
  deploy(stack: string, project: string, options?: { skipFinalBackup?: boolean }): Promise<void>;
  /** Returns once no pod of the app's workloads runs on the stack's cluster. */
  waitStopped(stack: string, app: string): Promise<void>;
  /** Returns once every workload of the app on the stack's cluster is ready. */
  waitHealthy(stack: string, app: string): Promise<void>;
  /** Runs the app's final backup on the stack's cluster (its final-backup template) and waits for it. */
  finalBackup(stack: string, app: string): Promise<void>;
  /** `pulumi destroy` of a project on a stack (a server's own layers, once its apps left). */
  destroy(stack: string, project: string): Promise<void>;
  /** The projects deployed on a stack. */
  deployed(stack: string): Promise<string[]>;
  /** Every server of the site (servers/), as their stacks are named. */
  servers(): Promise<string[]>;
  /** The projects deployed on a stack, in the order they were built (each after what it references). */
  layerOrder(stack: string): Promise<string[]>;
  /** The projects the app's project references on a stack (the layers it needs there). */
  layersOf(app: string, stack: string): Promise<string[]>;
  /** The app's backups as the stack exports them; undefined when the app is not deployed there. */
  backups(stack: string, app: string): Promise<AppBackups | undefined>;
  /**
   * A fingerprint (a hash, never a value) of the stable secrets the app runs with on the stack;
   * undefined when it has none. `fileSecretsFingerprint` is that of the secrets file every server reads.
   */
  clusterSecretsFingerprint(stack: string, app: string): Promise<string | undefined>;
  fileSecretsFingerprint(app: string): Promise<string | undefined>;
  /** Bytes free where the stack's volumes are created. */
  freeBytes(stack: string): Promise<number>;
  /** Removes the app's database and user from the stack's database server (after the app left it). */
  dropDatabase(stack: string, database: AppDatabase): Promise<void>;
}
