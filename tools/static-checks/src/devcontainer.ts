import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** The tools the devcontainer must install, each by the ARG that pins its version. */
export const DEVCONTAINER_TOOLS = [
  "COREPACK",
  "PULUMI",
  "KUBECTL",
  "HELM",
  "TASK",
  "SOPS",
  "AGE",
  "TERRAFORM",
  "NIX",
  "RESTIC",
  "RCLONE",
  "CRD2PULUMI",
  "CILIUM_CLI",
];

/** Problems with a devcontainer.json and the Dockerfile it names. */
export function devcontainerProblems(devcontainerJson: string): string[] {
  let config: { build?: { dockerfile?: unknown } };
  try {
    config = JSON.parse(readFileSync(devcontainerJson, "utf8"));
  } catch (error) {
    return [`${devcontainerJson} does not parse: ${error instanceof Error ? error.message : String(error)}`];
  }
  const dockerfile = config.build?.dockerfile;
  if (typeof dockerfile !== "string") return ["devcontainer.json names no build.dockerfile"];
  const path = resolve(dirname(devcontainerJson), dockerfile);
  if (!existsSync(path)) return [`devcontainer.json names ${dockerfile}, which does not exist`];
  return dockerfilePinProblems(readFileSync(path, "utf8"));
}

/** Tools whose version ARG is missing or not an exact version, and base images without a version tag. */
export function dockerfilePinProblems(dockerfile: string): string[] {
  const problems: string[] = [];
  for (const tool of DEVCONTAINER_TOOLS) {
    const version = new RegExp(`^ARG ${tool}_VERSION=(\\S*)$`, "m").exec(dockerfile)?.[1];
    if (version === undefined) problems.push(`the Dockerfile does not pin ${tool}_VERSION`);
    else if (!/^\d+\.\d+\.\d+$/.test(version))
      problems.push(`${tool}_VERSION=${version} is not an exact version`);
    else if (!dockerfile.includes(`\${${tool}_VERSION}`)) problems.push(`${tool}_VERSION is never used`);
  }
  for (const [, image] of dockerfile.matchAll(/^FROM\s+(\S+)/gm)) {
    if (!/:[\w.-]*\d[\w.-]*$/.test(image ?? "")) problems.push(`base image ${image} has no version tag`);
  }
  return problems;
}

export const devcontainerJsonPath = (root: string) => join(root, ".devcontainer", "devcontainer.json");
