import { getTailscaleProvider, reservedServiceAddress, type TailnetServer } from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";

export interface SplitDnsArgs {
  privateDomain: pulumi.Input<string>;
  /** Every server of the tailnet: each one's private DNS serves every server's private names. */
  servers: pulumi.Input<TailnetServer[]>;
}

/** Every server's private DNS address, in the servers' order. */
export function privateNameservers(servers: TailnetServer[]): string[] {
  return servers.map((server) => reservedServiceAddress(server.serviceCidr, "private-dns"));
}

/**
 * The tailnet's split DNS for the private zone: every device of the tailnet sends the zone's
 * queries to the servers' private DNS, through their subnet routers, and nowhere else. Each of
 * them serves every server's names, so while one server is down its clients' resolver falls back
 * to the next address and every other server's apps stay resolvable.
 */
export function createSplitDns(args: SplitDnsArgs): tailscale.DnsSplitNameservers {
  return new tailscale.DnsSplitNameservers(
    "private-zone",
    {
      domain: args.privateDomain,
      nameservers: pulumi.output(args.servers).apply(privateNameservers),
    },
    { provider: getTailscaleProvider() },
  );
}
