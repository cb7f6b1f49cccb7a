import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, open, readdir, stat, statfs, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  formatBytes,
  GiB,
  pseudoRandomStream,
  say,
  timed,
  treeDigest,
  writePseudoRandomFile,
} from "./common";

const scriptsDir = resolve(__dirname, "..", "..", "..", "pulumi", "packages", "restic", "scripts");

/** Small deterministic PRNG (mulberry32): the same sizes and choices on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface DataSet {
  smallFiles: string[];
  largeFiles: string[];
  bytes: number;
}

/** Half the bytes in small files (1-64 KiB, 256 per directory), half in four large files. */
async function generateDataSet(
  root: string,
  totalBytes: number,
  progress: (done: number) => void,
): Promise<DataSet> {
  const random = prng(20240229);
  const set: DataSet = { smallFiles: [], largeFiles: [], bytes: 0 };
  const smallBudget = totalBytes / 2;
  let smallBytes = 0;
  for (let index = 0; smallBytes < smallBudget; index++) {
    const dir = join(root, "small", String(Math.floor(index / 256)).padStart(4, "0"));
    if (index % 256 === 0) await mkdir(dir, { recursive: true });
    const size = 1024 + Math.floor(random() * 63 * 1024);
    const path = join(dir, `file-${index}.bin`);
    await writeFile(path, pseudoRandomStream(`small-${index}`)(size));
    set.smallFiles.push(path);
    smallBytes += size;
    set.bytes += size;
    if (index % 512 === 0) progress(set.bytes);
  }
  await mkdir(join(root, "large"));
  const largeSize = Math.ceil((totalBytes - smallBytes) / 4);
  for (let index = 0; index < 4; index++) {
    const path = join(root, "large", `blob-${index}.bin`);
    await writePseudoRandomFile(path, largeSize, `large-${index}`);
    set.largeFiles.push(path);
    set.bytes += largeSize;
    progress(set.bytes);
  }
  return set;
}

/** Changes about 1% of the bytes: rewrites 1 in 100 small files and a 1% slice of each large one. */
async function changeOnePercent(set: DataSet): Promise<number> {
  let changed = 0;
  for (let index = 0; index < set.smallFiles.length; index += 100) {
    const path = set.smallFiles[index] as string;
    const { size } = await stat(path);
    await writeFile(path, pseudoRandomStream(`changed-small-${index}`)(size));
    changed += size;
  }
  for (const [index, path] of set.largeFiles.entries()) {
    const { size } = await stat(path);
    const slice = Math.floor(size / 100);
    const file = await open(path, "r+");
    try {
      await file.write(pseudoRandomStream(`changed-large-${index}`)(slice), 0, slice, Math.floor(size / 2));
    } finally {
      await file.close();
    }
    changed += slice;
  }
  return changed;
}

async function directoryBytes(root: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/**
 * restic through the real backup.sh/restore.sh (rclone `local` remote, as in the cluster) against
 * GNU tar to a local directory, on the same generated data set in the same run: first backup, a
 * second one after 1% of the data changed (tar with --listed-incremental), and a full restore.
 */
export async function benchBackup(options: { sizeGiB: number; workDir?: string }): Promise<void> {
  if (!Number.isFinite(options.sizeGiB) || options.sizeGiB <= 0) {
    throw new Error(`--size-gib must be a positive number, got ${options.sizeGiB}`);
  }
  const missing = ["bash", "restic", "rclone", "tar"].filter(
    (name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0,
  );
  if (missing.length > 0) throw new Error(`the backup benchmark needs ${missing.join(", ")} on PATH`);

  const totalBytes = Math.round(options.sizeGiB * GiB);
  const parent = resolve(options.workDir ?? tmpdir());
  await mkdir(parent, { recursive: true });
  const space = await statfs(parent);
  // Data, repository, two tar archives and two restored copies.
  if (space.bavail * space.bsize < totalBytes * 6) {
    throw new Error(
      `${parent} has ${formatBytes(space.bavail * space.bsize)} free; needs about ${formatBytes(totalBytes * 6)}`,
    );
  }
  const root = await mkdtemp(join(parent, "bench-backup-"));
  const removeRoot = () => rmSync(root, { recursive: true, force: true });
  const onSignal = () => {
    removeRoot();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const dirs = {
      data: join(root, "data"),
      tar: join(root, "tar"),
      restoredRestic: join(root, "restored-restic"),
      restoredTar: join(root, "restored-tar"),
    };
    await Promise.all(Object.values(dirs).map((dir) => mkdir(dir)));
    await writeFile(join(root, "rclone.conf"), "[local]\ntype = local\n");
    await writeFile(join(root, "password"), "benchmark\n");
    // The repository's place, marked as `task backup:init-repository` does.
    await mkdir(join(root, "restic-repo"));
    await writeFile(join(root, "restic-repo", ".homelab-repository"), "homelab backup repository\n");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: root,
      RCLONE_CONFIG: join(root, "rclone.conf"),
      RESTIC_REPOSITORY: `rclone:local:${join(root, "restic-repo")}`,
      RESTIC_PASSWORD_FILE: join(root, "password"),
      RESTIC_CACHE_DIR: join(root, "restic-cache"),
      BACKUP_APP: "bench",
      BACKUP_SERVER: "bench-server",
      // A day's backup: the check and the retention with its prune run on their weekly days
      // (BACKUP_CHECK_DAYS, BACKUP_PRUNE_DAYS), a separate cost.
      BACKUP_CHECK_DAYS: "none",
      BACKUP_PRUNE_DAYS: "none",
    };
    const backupScript = () =>
      timed("bash", [join(scriptsDir, "backup.sh")], { ...env, BACKUP_DIR: dirs.data });
    const tarBackup = (archive: string, snapshotFile: string) =>
      timed(
        "tar",
        ["--create", "--file", archive, `--listed-incremental=${snapshotFile}`, "-C", dirs.data, "."],
        env,
      );

    say(`generating ${formatBytes(totalBytes)} of incompressible, deterministic data in ${dirs.data}`);
    let reported = 0;
    const set = await generateDataSet(dirs.data, totalBytes, (done) => {
      const percent = Math.floor((done / totalBytes) * 100);
      if (percent >= reported + 10) {
        reported = percent - (percent % 10);
        say(`  ${reported}%`);
      }
    });
    say(
      `${set.smallFiles.length} small files and ${set.largeFiles.length} large ones, ${formatBytes(set.bytes)}`,
    );

    say("first backup: backup.sh (initialises the repository)");
    const firstRestic = await backupScript();
    say("first backup: tar");
    const firstTar = await tarBackup(join(dirs.tar, "full.tar"), join(dirs.tar, "level0.snar"));

    const changed = await changeOnePercent(set);
    say(`changed ${formatBytes(changed)} (${((changed / set.bytes) * 100).toFixed(2)}%)`);
    say("second backup: backup.sh");
    const secondRestic = await backupScript();
    say("second backup: tar --listed-incremental");
    await copyFile(join(dirs.tar, "level0.snar"), join(dirs.tar, "level1.snar"));
    const secondTar = await tarBackup(join(dirs.tar, "incremental.tar"), join(dirs.tar, "level1.snar"));

    say("restore: restore.sh (latest snapshot)");
    const restoreRestic = await timed("bash", [join(scriptsDir, "restore.sh")], {
      ...env,
      BACKUP_DIR: dirs.restoredRestic,
    });
    say("restore: untar the full and the incremental archive");
    const restoreTar =
      (await timed(
        "tar",
        [
          "--extract",
          "--file",
          join(dirs.tar, "full.tar"),
          "--listed-incremental=/dev/null",
          "-C",
          dirs.restoredTar,
        ],
        env,
      )) +
      (await timed(
        "tar",
        [
          "--extract",
          "--file",
          join(dirs.tar, "incremental.tar"),
          "--listed-incremental=/dev/null",
          "-C",
          dirs.restoredTar,
        ],
        env,
      ));

    say("verifying both restores against the data");
    const [expected, fromRestic, fromTar] = await Promise.all([
      treeDigest(dirs.data),
      treeDigest(dirs.restoredRestic),
      treeDigest(dirs.restoredTar),
    ]);
    if (fromRestic !== expected) throw new Error("the restic restore differs from the data");
    if (fromTar !== expected) throw new Error("the tar restore differs from the data");

    const rows: [string, number, number][] = [
      ["first backup", firstRestic, firstTar],
      ["second backup (1% changed)", secondRestic, secondTar],
      ["restore", restoreRestic, restoreTar],
    ];
    const stored = {
      restic: await directoryBytes(join(root, "restic-repo")),
      tar:
        (await stat(join(dirs.tar, "full.tar"))).size + (await stat(join(dirs.tar, "incremental.tar"))).size,
    };
    const restic = spawnSync("restic", ["version"]).stdout.toString();
    console.log(
      `\nBackup benchmark: ${formatBytes(set.bytes)}, ${set.smallFiles.length + 4} files, ${restic.trim()}`,
    );
    console.log(
      "restic = backup.sh/restore.sh through rclone (retention, prune and check run on their weekly days); tar = GNU tar, uncompressed\n",
    );
    console.log(
      `${"step".padEnd(28)}${"restic".padStart(10)}${"tar".padStart(10)}${"restic/tar".padStart(12)}`,
    );
    for (const [name, resticSeconds, tarSeconds] of rows) {
      console.log(
        `${name.padEnd(28)}${`${resticSeconds.toFixed(1)} s`.padStart(10)}${`${tarSeconds.toFixed(1)} s`.padStart(10)}` +
          `${`${(resticSeconds / tarSeconds).toFixed(2)}x`.padStart(12)}`,
      );
    }
    console.log(
      `${"stored after both backups".padEnd(28)}${formatBytes(stored.restic).padStart(10)}${formatBytes(stored.tar).padStart(10)}`,
    );
    console.log("both restores verified identical to the data");
    const ratio = secondRestic / secondTar;
    console.log(
      `target: a 1%-changed backup within 1.5x of tar --listed-incremental: ${ratio.toFixed(2)}x, ${ratio <= 1.5 ? "met" : "NOT met"}`,
    );
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    say(`removing ${root}`);
    removeRoot();
  }
}
