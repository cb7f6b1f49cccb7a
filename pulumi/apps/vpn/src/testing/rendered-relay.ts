import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { synthAndValidate } from "@tools/synth/src/report";
import { unwrapSecrets } from "@tools/synth/src/secrets";
import { tailscaleInterface } from "../relay";

const repoRoot = resolve(__dirname, "..", "..", "..", "..", "..");

/** What synth renders for the first relay of a stack: its wg0.conf and the DNS server its pod uses. */
export interface RenderedRelay {
  conf: string;
  dns: string;
  tailscaleInterface: string;
}

/** Synthesizes the `vpn` project of a stack (with the layers it references) and returns its first relay. */
export async function renderedRelay(stack: string): Promise<RenderedRelay> {
  const outDir = mkdtempSync(join(tmpdir(), "vpn-synth-"));
  try {
    const report = await synthAndValidate({
      projectsDir: join(repoRoot, "pulumi", "projects"),
      workspaceRoots: [join(repoRoot, "pulumi")],
      outDir,
      validate: false,
      stacks: [stack],
      projects: ["vpn"],
    });
    if (report.problems.length > 0)
      throw new Error(`synth of ${stack}/vpn failed:\n${report.problems.join("\n")}`);
    const vpn = report.results[0]?.projects.find((project) => project.project === "vpn");
    const objects = (vpn?.resources ?? []).map(
      (resource) => unwrapSecrets(resource.inputs) as Record<string, any>,
    );
    const secret = objects.find((object) => object.kind === "Secret" && object.stringData?.["wg0.conf"]);
    const relay = objects.find(
      (object) => object.kind === "Deployment" && object.metadata?.name?.startsWith("relay-"),
    );
    const dns = relay?.spec?.template?.spec?.dnsConfig?.nameservers?.[0];
    if (!secret || !dns)
      throw new Error(`synth of ${stack}/vpn rendered no relay with a wg0.conf and a DNS server`);
    return { conf: secret.stringData["wg0.conf"], dns, tailscaleInterface };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
