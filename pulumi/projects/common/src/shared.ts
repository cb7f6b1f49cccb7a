import type { TailnetControl } from "@infra/core";
import type * as pulumi from "@pulumi/pulumi";
import { requireStackOutput } from "./stack-reference";

/** Facts about the server, from its Terraform state or from config. */
export interface ServerFacts {
  /** The server's name, also its stack name and kube context. */
  name: string;
  /** The kube context that reaches the server's cluster. */
  kubeContext: string;
  /** The address the node and its API server listen on inside the server's network. */
  internalIp: string;
  /** The server's public address (DNS records of public apps point at it). */
  publicIp: string;
  sshHost: string;
  sshPort: number;
  sshUser: string;
}

/** The cluster's address ranges. */
export interface ClusterNetwork {
  /** Pod addresses. */
  clusterCidr: string;
  /** Service addresses (the internal gateway's address is one of them). */
  serviceCidr: string;
  /** The cluster DNS service's address. */
  clusterDnsIp: string;
}

/** A server of the tailnet, as the tailnet policy lists its routes. */
export interface TailnetServer {
  name: string;
  serviceCidr: string;
}

/** What the `shared` project exports for every later layer. */
export interface SharedEnvironment {
  server: pulumi.Output<ServerFacts>;
  network: pulumi.Output<ClusterNetwork>;
  /** The DNS zone apps get their names in (managed at Cloudflare). */
  domain: pulumi.Output<string>;
  /** The zone of private apps' names, served only inside the tailnet (`internal.<domain>` by default). */
  privateDomain: pulumi.Output<string>;
  /** The tailnet's DNS name, for example `example-tailnet.ts.net`. */
  tailnet: pulumi.Output<string>;
  /** The tailnet's control server: Tailscale's service or the site's Headscale. */
  tailnetControl: pulumi.Output<TailnetControl>;
  /** ACME account e-mail and directory URL. */
  acme: pulumi.Output<{ email: string; server: string }>;
}

/**
 * The shared environment of this server, read from the `shared` project's stack. Each output is
 * read when first used, so a layer depends only on what it uses.
 */
export function getSharedEnvironment(): SharedEnvironment {
  return {
    get server() {
      return requireStackOutput<ServerFacts>("shared", "server");
    },
    get network() {
      return requireStackOutput<ClusterNetwork>("shared", "network");
    },
    get domain() {
      return requireStackOutput<string>("shared", "domain");
    },
    get privateDomain() {
      return requireStackOutput<string>("shared", "privateDomain");
    },
    get tailnet() {
      return requireStackOutput<string>("shared", "tailnet");
    },
    get tailnetControl() {
      return requireStackOutput<TailnetControl>("shared", "tailnetControl");
    },
    get acme() {
      return requireStackOutput<{ email: string; server: string }>("shared", "acme");
    },
  };
}
