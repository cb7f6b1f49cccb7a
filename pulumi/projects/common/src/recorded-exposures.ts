import { dirname } from "node:path";
import * as pulumi from "@pulumi/pulumi";

/** One hostname a gateway serves, as the program that exposed it exports it (`exposures`). */
export interface RecordedExposure {
  /** The exposure's name: its Gateway's, Certificate's and routes'. */
  name: string;
  /** The namespace of its Gateway and routes. */
  namespace: string;
  hostname: string;
  /** `private`: through the internal gateway (tailnet); `public`: through Cloudflare. */
  gateway: "private" | "public";
}

/** The stack output every program that exposes a hostname has, without a line of its own. */
export const exposuresOutput = "exposures";

interface PendingExposure {
  name: string;
  namespace: pulumi.Input<string>;
  hostname: pulumi.Input<string>;
  gateway: "private" | "public";
}

// This program's exposures (workspace modules are loaded once per program run).
const recorded: PendingExposure[] = [];
let exported = false;

/**
 * The exports object of the program being loaded: the outermost module of the program's
 * directory (Pulumi and synth run a program from its directory) that is still loading. Pulumi
 * reads a program's stack outputs from that object once the program has loaded
 * (`require(program)`), so a property added while it loads is an output like any `export const`.
 */
function programExports(): Record<string, unknown> | undefined {
  const loading = Object.values(require.cache).filter(
    (module): module is NodeJS.Module =>
      module !== undefined && !module.loaded && dirname(module.filename) === process.cwd(),
  );
  // A module of the program that another loading one imports is not the program itself.
  const outermost = loading.filter(
    (module) => !loading.some((other) => other !== module && other.children.includes(module)),
  );
  return outermost.length === 1 ? (outermost[0]?.exports as Record<string, unknown>) : undefined;
}

/**
 * Records a hostname that a gateway serves, and makes the program export every hostname it
 * recorded as its `exposures` output (the `monitoring` project reads it through a
 * StackReference and checks each one): a new app gets its checks from the kit, with no code.
 */
export function recordExposure(exposure: PendingExposure): void {
  recorded.push(exposure);
  if (exported) return;
  const target = programExports();
  if (!target) {
    // Not a program run (a unit test of the kit): nothing exports. The monitoring project's tests
    // prove that every program of the example stacks exports each hostname it exposes.
    pulumi.log.debug(
      `Program ${pulumi.getProject()}: no loading module to export "${exposuresOutput}" from; the monitor will not check its hostnames`,
    );
    return;
  }
  exported = true;
  // Read once the program has loaded: by then it has recorded every exposure.
  Object.defineProperty(target, exposuresOutput, {
    enumerable: true,
    configurable: true,
    get: (): pulumi.Output<RecordedExposure[]> =>
      pulumi.all(
        recorded.map((entry) =>
          pulumi.all([entry.namespace, entry.hostname]).apply(([namespace, hostname]) => ({
            name: entry.name,
            namespace,
            hostname,
            gateway: entry.gateway,
          })),
        ),
      ),
  });
}
