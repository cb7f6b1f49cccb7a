import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { type AppSchedule, snapshotStatusReport } from "./snapshot-status";

const usage = `Usage: snapshot-status-cli [options]

Prints the latest snapshot of each app and whether its backups are stale: no snapshot at all, or
none since the second-to-last run of its schedule. Exit code: 0 all ok, 1 some app is stale,
2 bad usage or unreadable input.

  --input <file|->        restic snapshots --json output to read ("-": stdin); repeat for several
                          repositories. Without it, runs \`restic snapshots --json\` with the
                          environment's RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE, RCLONE_CONFIG...
  --app <name=schedule>   an app that must have backups, with its CronJob schedule; repeatable
  --schedule <cron>       schedule of every app found in the repository and not given by --app
  --time-zone <tz>        time zone of the schedules (default UTC, like a CronJob without timeZone)
  --now <iso time>        judge as of this time instead of now`;

class UsageError extends Error {}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (chunk: string) => {
      text += chunk;
    });
    process.stdin.on("end", () => resolve(text));
    process.stdin.on("error", reject);
  });
}

function resticSnapshots(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("restic", ["snapshots", "--json"], { maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`restic snapshots failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

function parseApp(value: string): AppSchedule {
  const separator = value.indexOf("=");
  if (separator <= 0 || separator === value.length - 1) {
    throw new UsageError(`--app expects <name>=<schedule>, got '${value}'`);
  }
  return { app: value.slice(0, separator), schedule: value.slice(separator + 1) };
}

const options = {
  input: { type: "string", multiple: true },
  app: { type: "string", multiple: true },
  schedule: { type: "string" },
  "time-zone": { type: "string" },
  now: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function isUsageError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return error instanceof UsageError || (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS"));
}

/** Runs the CLI and resolves to its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const apps = (values.app ?? []).map(parseApp);
    if (apps.length === 0 && !values.schedule) throw new UsageError("give --app and/or --schedule");
    const now = values.now ? new Date(values.now) : new Date();
    if (Number.isNaN(now.getTime())) throw new UsageError(`--now is not a time: '${values.now}'`);
    const inputs = values.input ?? [];
    const texts =
      inputs.length > 0
        ? await Promise.all(inputs.map((input) => (input === "-" ? readStdin() : readFile(input, "utf8"))))
        : [await resticSnapshots()];
    const report = snapshotStatusReport(texts, {
      apps,
      defaultSchedule: values.schedule,
      now,
      timeZone: values["time-zone"],
    });
    console.log(report.table);
    return report.anyStale ? 1 : 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(isUsageError(error) ? `${message}\n\n${usage}` : message);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
