import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { repositoryRoot } from "@infra/core";

const run = promisify(execFile);

/** One of the app's snapshots, as restic lists them. */
export interface Snapshot {
  id: string;
  time: string;
  tags: string[];
}

/** Which server holds the app (README of the restic scripts: "Which server holds an app"). */
export interface Hold {
  server: string;
  since: string;
}

const holdScript = join(repositoryRoot, "pulumi", "packages", "restic", "scripts", "hold.sh");

/**
 * An app's backup repository, opened from the operator's machine with restic and rclone (the
 * repository's own password, the operator's storage credentials): what the migration reads and
 * checks, never writes but for the hold a rollback gives back.
 */
export class AppRepository {
  /**
   * @param app  the identity its snapshots carry (host and tag)
   * @param env  RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE and how rclone reaches the storage
   */
  constructor(
    readonly app: string,
    private readonly env: Record<string, string>,
  ) {}

  private async restic(args: string[]): Promise<string> {
    try {
      const { stdout } = await run("restic", args, {
        env: { ...process.env, ...this.env },
        maxBuffer: 256 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(`restic ${args[0]} of ${this.app}'s repository failed: ${stderr || String(error)}`);
    }
  }

  /** Opens the repository: unreachable storage or a wrong password fails here. */
  async open(): Promise<void> {
    await this.restic(["cat", "config"]);
  }

  /** The app's snapshots, oldest first. */
  async snapshots(): Promise<Snapshot[]> {
    const listed = JSON.parse(
      await this.restic(["--no-lock", "snapshots", "--json", "--host", this.app, "--tag", this.app]),
    ) as { id: string; time: string; tags?: string[] }[];
    return listed
      .map((snapshot) => ({ id: snapshot.id, time: snapshot.time, tags: snapshot.tags ?? [] }))
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  }

  /**
   * Checks the repository's structure (indexes, snapshots, trees). Its data was read back in full
   * by the final backup's own check (BACKUP_FINAL_READ_DATA_SUBSET, 100%): reading it again here
   * would only lengthen the app's downtime.
   */
  async check(): Promise<void> {
    await this.restic(["check"]);
  }

  /** The entries at the root of a snapshot (the volumes' directories and a database's dump). */
  async rootEntries(snapshot: string): Promise<string[]> {
    const lines = (await this.restic(["--no-lock", "ls", "--json", snapshot, "/"]))
      .split("\n")
      .filter(Boolean);
    return lines
      .map((line) => JSON.parse(line) as { struct_type?: string; path?: string })
      .filter((node) => node.struct_type === "node" && node.path && node.path.split("/").length === 2)
      .map((node) => (node.path as string).slice(1));
  }

  /** The bytes a restore of `snapshot` writes. */
  async restoreSize(snapshot: string): Promise<number> {
    const stats = JSON.parse(
      await this.restic(["--no-lock", "stats", "--json", "--mode", "restore-size", snapshot]),
    ) as {
      total_size: number;
    };
    return stats.total_size;
  }

  private async holdScript(args: string[]): Promise<string> {
    try {
      const { stdout } = await run("bash", [holdScript, ...args], { env: { ...process.env, ...this.env } });
      return stdout.trim();
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new Error(`hold.sh ${args[0]} for ${this.app} failed: ${stderr || String(error)}`);
    }
  }

  /** Which server holds the app; undefined when no hold was ever recorded. */
  async hold(): Promise<Hold | undefined> {
    const line = await this.holdScript(["show"]);
    if (line === "none") return undefined;
    const fields = Object.fromEntries(
      line.split(" ").map((field) => field.split("=", 2) as [string, string]),
    );
    if (!fields.server || !fields.since) throw new Error(`hold.sh show printed "${line}"`);
    return { server: fields.server, since: fields.since };
  }

  /** Gives the hold to `server` since `snapshot` (a rollback returns it to the source). */
  async takeHold(server: string, snapshot: string, reason: string): Promise<void> {
    await this.holdScript(["take", server, snapshot, reason]);
  }
}
