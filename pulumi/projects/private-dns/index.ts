import { createPolicy } from "@infra/cilium";
import { images } from "@infra/core";
import {
  createConfigMap,
  createNamespace,
  createService,
  createWorkload,
  emptyDir,
  identityLabel,
  type ServicePortArgs,
  selectorLabels,
} from "@infra/k8s";
import {
  checkTailnetPorts,
  getKubernetesProvider,
  getSharedEnvironment,
  privateDnsPods,
  readSitePrivateNames,
  requireStackOutput,
  reservedServiceAddress,
  type TailnetServer,
} from "@projects/common";
import * as pulumi from "@pulumi/pulumi";
import { knotPaths, knotPort, renderKnotConf, zoneFileName } from "./src/knot-conf";
import { renderZone } from "./src/zone";

const provider = getKubernetesProvider();
const { network, privateDomain } = getSharedEnvironment();
// The namespace and workload the subnet router's egress policy (internal-gateway) selects.
const knot = privateDnsPods.workload;
const dnsNamespace = createNamespace({ name: privateDnsPods.namespace, provider });

// Every private name of the site, whichever server holds it: so that any server answers for all
// while the others are down.
const privateNames = readSitePrivateNames();
// Every server's DNS server is a nameserver of the zone, on its fixed address (the one its subnet
// router advertises): the zone file is the same on every server.
const nameservers = requireStackOutput<TailnetServer[]>("shared", "tailnetServers").apply((servers) =>
  servers.map((server) => ({
    server: server.name,
    address: reservedServiceAddress(server.serviceCidr, "private-dns"),
  })),
);

const config = createConfigMap({
  name: `${knot}-config`,
  namespace: dnsNamespace,
  data: {
    "knot.conf": privateDomain.apply((zone) => renderKnotConf({ zone })),
    [zoneFileName]: pulumi
      .all([privateDomain, nameservers, privateNames])
      .apply(([zone, servers, list]) => renderZone({ zone, nameservers: servers, names: list })),
  },
});

// The image's knot user (uid 53). It needs no capability: it listens above 1024.
const knotUser = { runAsUser: 53, runAsGroup: 53, runAsNonRoot: true };
const workload = createWorkload({
  name: knot,
  namespace: dnsNamespace,
  container: {
    image: images.knot,
    command: ["knotd", "-c", `${knotPaths.config}/knot.conf`],
    ports: [
      { name: "dns", port: knotPort, protocol: "UDP" },
      { name: "dns-tcp", port: knotPort, protocol: "TCP" },
    ],
    // The ConfigMap's checksum on the pod rolls it out when a name or the config changes.
    volumeMounts: [
      { volume: config, mountPath: knotPaths.config },
      { volume: emptyDir("rundir", { sizeLimit: "16Mi" }), mountPath: knotPaths.rundir },
      { volume: emptyDir("storage", { sizeLimit: "64Mi" }), mountPath: knotPaths.storage },
      { volume: emptyDir("tmp", { sizeLimit: "16Mi" }), mountPath: knotPaths.tmp },
    ],
    resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "128Mi" } },
    securityContext: { readOnlyRootFilesystem: true },
    // Knot binds its sockets, then loads the zone in moments; a TCP connect proves it listens.
    readinessProbe: { tcpSocket: { port: "dns-tcp" }, periodSeconds: 10 },
    livenessProbe: { tcpSocket: { port: "dns-tcp" }, periodSeconds: 30, failureThreshold: 3 },
  },
  podSecurity: knotUser,
});

// The fixed address the tailnet's split DNS sends the private zone's queries to, through this
// server's subnet router; DNS on its standard port, over UDP and TCP (large answers, retries).
const fixedAddress = network.apply((ranges) => reservedServiceAddress(ranges.serviceCidr, "private-dns"));
const ports: ServicePortArgs[] = [
  { name: "dns", port: 53, targetPort: "dns", protocol: "UDP" },
  { name: "dns-tcp", port: 53, targetPort: "dns-tcp", protocol: "TCP" },
];
checkTailnetPorts("private-dns", ports);
const service = createService({ name: knot, workload, ports, clusterIp: fixedAddress });

// Tailnet traffic reaches the cluster through the subnet router only: Knot accepts it, on its DNS
// port, and nothing else. It sends nothing (no recursion, no transfers): no egress policy.
const gateway = "internal-gateway";
const routerLabels = requireStackOutput<Record<string, string>>(gateway, "routerPodLabels");
const router = { [identityLabel]: routerLabels.apply((labels) => labels[identityLabel] ?? "") };
createPolicy({
  name: `${knot}-from-tailnet`,
  description: "Tailnet devices query the private DNS through this server's subnet router.",
  namespace: dnsNamespace,
  subject: { labels: selectorLabels(knot) },
  ingress: [
    {
      peers: [{ endpoints: router, namespace: requireStackOutput<string>(gateway, "namespace") }],
      ports: [
        { port: knotPort, protocol: "UDP" },
        { port: knotPort, protocol: "TCP" },
      ],
    },
  ],
});

export const namespace = dnsNamespace.metadata.name;
/** The fixed cluster IP it answers on (53, UDP and TCP): the tailnet's split DNS sends the zone's queries here. */
export const address = fixedAddress;
/** The zone it is authoritative for. */
export const zone = privateDomain;
/** The names it answers (every server's), each with its address and the server holding it. */
export const names = privateNames;
/** The labels of Knot's pods (the identity label selects them in the namespace). */
export const podLabels = workload.selector;
/** The Service on the fixed address. */
export const serviceName = service.metadata.name;
