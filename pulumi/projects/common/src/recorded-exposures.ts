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

/** A name of the private zone and the fixed address it resolves to inside the tailnet. */
export interface PrivateName {
  hostname: string;
  /** A fixed cluster IP of this server (`reservedServiceAddress`), which its subnet router advertises. */
  address: string;
}

/**
 * The stack output listing the private names a program holds: those the private DNS of every
 * server (and Headscale's records) serve. A program holds an app's names only where the placement
 * gives it the app's DNS records, so exactly one stack holds each name.
 */
export const privateNamesOutput = "privateNames";

interface PendingPrivateName {
  hostname: pulumi.Input<string>;
  address: pulumi.Input<string>;
}

// This program's exposures and private names (workspace modules are loaded once per program run).
const recorded: PendingExposure[] = [];
const privateNames: PendingPrivateName[] = [];
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

/** Adds the recorded lists to the program's exports, once, read when the program has loaded. */
function exportRecorded(): void {
  if (exported) return;
  const target = programExports();
  if (!target) {
    // Not a program run (a unit test of the kit): nothing exports. The monitoring and private-dns
    // projects' tests prove that every program of the example stacks exports what it records.
    pulumi.log.debug(
      `Program ${pulumi.getProject()}: no loading module to export "${exposuresOutput}" and "${privateNamesOutput}" from`,
    );
    return;
  }
  exported = true;
  // Read once the program has loaded: by then it has recorded everything.
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
  Object.defineProperty(target, privateNamesOutput, {
    enumerable: true,
    configurable: true,
    get: recordedPrivateNames,
  });
}

/** The private names this program recorded so far (all of them, once it has loaded). */
export function recordedPrivateNames(): pulumi.Output<PrivateName[]> {
  return pulumi.all(
    privateNames.map((entry) =>
      pulumi.all([entry.hostname, entry.address]).apply(([hostname, address]) => ({ hostname, address })),
    ),
  );
}

/**
 * Records a hostname that a gateway serves, and makes the program export every hostname it
 * recorded as its `exposures` output (the `monitoring` project reads it through a
 * StackReference and checks each one): a new app gets its checks from the kit, with no code.
 */
export function recordExposure(exposure: PendingExposure): void {
  recorded.push(exposure);
  exportRecorded();
}

/**
 * Records a name of the private zone this stack holds, exported as `privateNames`: the monitoring
 * project gathers the stack's, and every server's private DNS serves every server's.
 */
export function recordPrivateName(name: PendingPrivateName): void {
  privateNames.push(name);
  exportRecorded();
}
