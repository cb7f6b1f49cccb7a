import { chmod, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Retention } from "../config";

// Stands in for the Pulumi CLI: `stack output backups` answers from outputs.json in the project's
// directory, as a deployed stack would.
const fakePulumi = `#!/usr/bin/env bash
set -euo pipefail
cwd=""
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  [ "\${args[i]}" != --cwd ] || cwd=\${args[i + 1]}
done
case "$1 $2" in
  "stack output")
    [ -f "$cwd/outputs.json" ] || { echo "error: no output backups" >&2; exit 255; }
    node -e 'console.log(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1])).backups))' "$cwd/outputs.json" ;;
  *) exit 64 ;;
esac
`;

// Stands in for sops: `--decrypt --extract '["<key>"]' <root>/secrets/<file>` answers the key of
// the plain JSON file <file> in FAKE_SECRETS_DIR, as sops would with the operator's age key.
const fakeSops = `#!/usr/bin/env bash
set -euo pipefail
[ "$1 $2" = "--decrypt --extract" ] || exit 64
key=$(node -e 'process.stdout.write(JSON.parse(process.argv[1])[0])' "$3")
node -e '
  const values = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (!(process.argv[2] in values)) { console.error("sops: key not found"); process.exit(1); }
  process.stdout.write(values[process.argv[2]]);
' "$FAKE_SECRETS_DIR/\${4#*/secrets/}" "$key"
`;

/** One app as a project's `backups` output lists it. */
export interface BackupsOutputEntry {
  app: string;
  schedule: string;
  repository: string;
  retention?: Retention;
  secretsFile?: string;
}

/**
 * The operator's machine in a test: fake `pulumi` and `sops` on PATH (`bin`), projects whose
 * deployed stacks answer their `backups` outputs, and the repositories' secrets files in clear
 * (what sops would decrypt).
 */
export class OperatorMachine {
  private constructor(
    readonly bin: string,
    readonly secretsDir: string,
  ) {}

  static async create(root: string): Promise<OperatorMachine> {
    const machine = new OperatorMachine(join(root, "bin"), join(root, "secrets"));
    await mkdir(machine.bin, { recursive: true });
    await writeFile(join(machine.bin, "pulumi"), fakePulumi);
    await writeFile(join(machine.bin, "sops"), fakeSops);
    await chmod(join(machine.bin, "pulumi"), 0o755);
    await chmod(join(machine.bin, "sops"), 0o755);
    return machine;
  }

  /** A project directory with a stack file for cloud-a and, when given, its deployed `backups`. */
  async project(projects: string, name: string, backups?: BackupsOutputEntry[]): Promise<void> {
    const dir = join(projects, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "Pulumi.cloud-a.yaml"), "config: {}\n");
    if (backups) await writeFile(join(dir, "outputs.json"), JSON.stringify({ backups }));
  }

  /** A secrets file (`secrets/apps/<app>.yaml`...) holding these values. */
  async secretsFile(path: string, values: Record<string, string>): Promise<void> {
    const file = join(this.secretsDir, path.replace(/^secrets\//, ""));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(values));
  }

  /** The environment of the operator's tasks: the fakes first on PATH, the storage's rclone config. */
  env(home: string, rcloneConfig: string): NodeJS.ProcessEnv {
    return {
      PATH: `${this.bin}:${process.env.PATH}`,
      HOME: home,
      RCLONE_CONFIG: rcloneConfig,
      FAKE_SECRETS_DIR: this.secretsDir,
    };
  }
}
