import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname } from "node:path";
import { type ResticSandbox, type RunResult, run } from "./restic-sandbox";

/**
 * Who a rendered pod's container runs as, as the kubelet starts it: the user and group of its
 * security context (the container's over the pod's), with the pod's `fsGroup` as a supplementary
 * group.
 */
export interface PodUser {
  uid: number;
  gid: number;
  /** The pod's fsGroup: the group of its Secret files and of the volumes the kubelet manages. */
  fsGroup: number;
}

/** The user of a rendered pod spec's container (its first by default); fails when it would be root. */
export function podUser(
  podSpec: Record<string, any>,
  container: Record<string, any> = podSpec.containers[0],
): PodUser {
  const pick = (field: string): number | undefined =>
    container.securityContext?.[field] ?? podSpec.securityContext?.[field];
  const uid = pick("runAsUser");
  const gid = pick("runAsGroup");
  const fsGroup = podSpec.securityContext?.fsGroup;
  for (const [name, id] of Object.entries({ runAsUser: uid, runAsGroup: gid, fsGroup })) {
    if (!Number.isInteger(id) || (id as number) <= 0) {
      throw new Error(`the rendered pod sets ${name} to ${id}: a job would run as root`);
    }
  }
  return { uid: uid as number, gid: gid as number, fsGroup: fsGroup as number };
}

/** Whether this process may switch users (the tests that run jobs as their pod's user need root). */
export const canSwitchUsers = process.getuid?.() === 0 && spawnSync("setpriv", ["--version"]).status === 0;

/**
 * The `setpriv` arguments that run what follows them as the pod's user, as the container runtime
 * would: that user and group, the fsGroup as the only supplementary group, no capabilities and no
 * way to gain privileges (`allowPrivilegeEscalation: false`).
 */
export function podUserPrefix(user: PodUser): string[] {
  return [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    `--groups=${user.fsGroup}`,
    "--inh-caps=-all",
    "--no-new-privs",
    "--",
  ];
}

/** Runs a program as the pod's user (`podUserPrefix`). */
export function runAsPodUser(
  user: PodUser,
  command: string,
  args: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; input?: string },
): Promise<RunResult> {
  return run("setpriv", [...podUserPrefix(user), command, ...args], options);
}

/**
 * A directory as the kubelet hands it to a pod with an fsGroup: an emptyDir (created 0777), or a
 * fresh volume of k3s's local-path provisioner (its setup script runs `mkdir -m 0777`, and its
 * volumes are of type `local`, whose ownership the kubelet manages): owned by root, its group the
 * fsGroup, setgid and writable by all (the kubelet adds g+rwx and setgid to what was 0777).
 */
export async function kubeletDir(path: string, user: PodUser): Promise<string> {
  await mkdir(path, { recursive: true });
  await letOthersTraverse(dirname(path));
  await chown(path, 0, user.fsGroup);
  await chmod(path, 0o2777);
  return path;
}

/**
 * A Secret's files as the kubelet mounts them for a pod with an fsGroup: owned by root, their group
 * the fsGroup, and the volume's `defaultMode` 0400 widened to 0440 for that group
 * (kubernetes/kubernetes#57923).
 */
export async function secretFiles(
  dir: string,
  files: Record<string, string>,
  user: PodUser,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  await letOthersTraverse(dir);
  for (const [name, content] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    await writeFile(path, content);
    await chown(path, 0, user.fsGroup);
    await chmod(path, 0o440);
  }
  return dir;
}

/** Lets other users reach `dir` through the (private) temporary directories above it. */
export async function letOthersTraverse(dir: string): Promise<void> {
  for (let current = dir; current.startsWith(`${tmpdir()}/`); current = dirname(current)) {
    await chmod(current, (await stat(current)).mode | 0o111);
  }
}

/** Gives a directory tree to a user, as one it wrote itself. */
export async function giveTo(path: string, user: PodUser): Promise<void> {
  const result = await run("chown", ["-R", `${user.uid}:${user.gid}`, path], {
    env: { PATH: process.env.PATH },
  });
  if (result.code !== 0) throw new Error(`chown ${path} failed: ${result.stderr}`);
}

/**
 * Lets a pod's user run the jobs against a sandbox: the repository's storage (rclone's local
 * remote: the storage provider's side) and restic's cache and home writable by it, and the password
 * and rclone config readable through the fsGroup only, as the kubelet mounts the jobs' Secrets.
 */
export async function shareSandbox(box: ResticSandbox, user: PodUser): Promise<void> {
  await letOthersTraverse(box.root);
  for (const dir of [box.storeDir, box.cacheDir, box.homeDir]) await giveTo(dir, user);
  for (const file of [box.passwordFile, box.rcloneConfig]) {
    await chown(file, 0, user.fsGroup);
    await chmod(file, 0o440);
  }
}
