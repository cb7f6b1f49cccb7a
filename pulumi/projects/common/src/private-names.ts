import { readServers } from "@infra/core";
import { selectorLabels } from "@infra/k8s";
import * as pulumi from "@pulumi/pulumi";
import type { PrivateName } from "./recorded-exposures";
import { getStackOf } from "./stack-reference";

/** The project that gathers a server's private names (with its hostnames) from every project of its stack. */
export const privateNamesProject = "monitoring";
/**
 * The projects that read every server's private names (on every server it is deployed on): the
 * private DNS and Headscale's records. `privateNamesProject` never reads them back (a cycle).
 */
export const privateNamesReaders = ["private-dns", "headscale"];
/** Its output listing them: every private name the server holds, each with its fixed address. */
export const serverPrivateNamesOutput = "serverPrivateNames";

/** A private name and the server that holds it. */
export interface SitePrivateName extends PrivateName {
  server: string;
}

/**
 * Every private name of the site, each with the server holding it: what each server's
 * `monitoring` stack gathered from its projects, for every server of servers/. Names are unique
 * across servers (each app's names are held by the one stack the placement gives its DNS records);
 * two servers claiming one name fail with both named.
 */
export function readSitePrivateNames(): pulumi.Output<SitePrivateName[]> {
  const servers = readServers().servers.map((server) => server.name);
  return pulumi
    .all(
      servers.map((server) =>
        pulumi
          .output(getStackOf(privateNamesProject, server).getOutputDetails(serverPrivateNamesOutput))
          .apply((details) => {
            const names = (details.value ?? details.secretValue) as PrivateName[] | undefined;
            if (names === undefined) {
              throw new Error(
                `Project "${pulumi.getProject()}" on stack "${pulumi.getStack()}" reads output "${serverPrivateNamesOutput}" ` +
                  `of project "${privateNamesProject}" on stack "${server}", which does not export it: deploy ` +
                  `"${privateNamesProject}" on "${server}" first (task up STACK=${server}).`,
              );
            }
            return names.map((name) => ({ ...name, server }));
          }),
      ),
    )
    .apply((lists) => uniqueNames(lists.flat()));
}

/** The names sorted, each once; a name two servers hold fails, naming both. */
export function uniqueNames(names: SitePrivateName[]): SitePrivateName[] {
  const byHostname = new Map<string, SitePrivateName>();
  for (const name of names) {
    const held = byHostname.get(name.hostname);
    if (held && (held.server !== name.server || held.address !== name.address)) {
      throw new Error(
        `The private name ${name.hostname} is held by both ${held.server} (${held.address}) and ` +
          `${name.server} (${name.address}): an app's names belong to the one server pulumi/placement.yaml ` +
          "gives its DNS records; deploy the app's project on the other server so that it drops them.",
      );
    }
    byHostname.set(name.hostname, name);
  }
  return [...byHostname.values()].sort((a, b) => a.hostname.localeCompare(b.hostname));
}

/**
 * The private DNS server's pods (the private-dns project): the subnet router's egress policy,
 * created before them by the internal gateway, selects them by these labels in this namespace.
 */
export const privateDnsPods = {
  namespace: "private-dns",
  /** The workload's name: its pods carry its identity label (`selectorLabels`). */
  workload: "knot",
  labels: selectorLabels("knot"),
  /** The port the DNS server listens on (UDP and TCP); its Service maps 53 to it. */
  port: 5353,
} as const;
