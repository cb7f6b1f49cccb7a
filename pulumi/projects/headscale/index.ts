import { createPolicy } from "@infra/cilium";
import { type AppOnStack, ConfigError, images } from "@infra/core";
import {
  databaseEnv,
  type HeadscaleControl,
  headscaleApp,
  headscaleFiles,
  headscalePaths,
  headscalePolicy,
  readTailnetControl,
  renderExtraRecords,
  renderHeadscaleConfig,
} from "@infra/headscale";
import {
  createConfigMap,
  createSecret,
  emptyDir,
  namespacedMetadata,
  namespacedOptions,
  namespacedResourceName,
  selectorLabels,
} from "@infra/k8s";
import { stunPort } from "@infra/tailscale";
import {
  appOnThisStack,
  createApp,
  createDnsRecord,
  getSharedEnvironment,
  getStack,
  readAppConfig,
  readSitePrivateNames,
  requireStackOutput,
  type TailnetServer,
  tailnetDestinations,
} from "@projects/common";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { headscaleConfig } from "./config";

// ko's nonroot user, which its distroless image runs as: Headscale writes only its volume and socket.
const user = 65532;
/** The namespaces of this server's tailnet clients, which reach Headscale inside the cluster. */
const clientNamespaces = ["internal-gateway", "vpn"];

/**
 * Whether Headscale runs on this stack. pulumi/placement.yaml runs it (backups, restore and a
 * migration's steps come with the app kit), and servers/site.json's tailnet.headscale.server must
 * say the same outside a migration, since nothing else would notice a disagreement.
 */
function placedHere(control: HeadscaleControl): AppOnStack {
  const stack = pulumi.getStack();
  const here = appOnThisStack(headscaleApp);
  const migrating = here.runs && (here.stopped || here.restore !== undefined);
  if (!migrating && here.runs !== (stack === control.server)) {
    throw new ConfigError(
      `servers/site.json names ${control.server} as tailnet.headscale.server, but pulumi/placement.yaml ` +
        `${here.runs ? `places ${headscaleApp} on ${stack}` : `does not place ${headscaleApp} on ${control.server}`}: make them name the same server`,
    );
  }
  return here;
}

function createHeadscale(control: HeadscaleControl, dnsRecord: boolean) {
  const { settings } = readAppConfig(headscaleConfig);
  const shared = getSharedEnvironment();
  const app = createApp({ name: headscaleApp, user: { user, group: user } });
  const { namespace } = app;
  const database = app.database("postgresql");
  const data = app.volume({ name: "data", storage: settings.storage });

  const config = createConfigMap({
    name: "headscale-config",
    namespace,
    data: {
      [headscaleFiles.config]: pulumi
        .all([shared.server, shared.domain, shared.privateDomain])
        .apply(([server, domain, privateDomain]) =>
          renderHeadscaleConfig({
            serverUrl: control.url,
            port: control.port,
            publicIp: server.publicIp,
            baseDomain: settings.baseDomain ?? `tailnet.${privateDomain}`,
            reservedZones: [domain, privateDomain],
            nameservers: settings.nameservers,
          }),
        ),
    },
  });
  // The same document as Tailscale's (tailnetPolicy()), from the same inputs: every server's
  // router with the fixed addresses of its range, the admins and the exit-node tags.
  const policy = requireStackOutput<TailnetServer[]>("shared", "tailnetServers").apply((servers) =>
    headscalePolicy({
      tagOwners: settings.tailnetPolicy.tagOwners,
      admins: settings.tailnetPolicy.admins,
      routers: servers.map((server) => ({
        tag: `${settings.tailnetPolicy.routerTagPrefix}-${server.name}`,
        destinations: tailnetDestinations(server.serviceCidr),
      })),
      exitNodeTags: settings.tailnetPolicy.exitNodeTags,
    }),
  );
  const policyFile = createConfigMap({
    name: "headscale-policy",
    namespace,
    data: { [headscaleFiles.policy]: policy.apply((document) => `${JSON.stringify(document, null, 2)}\n`) },
  });
  // A Secret, not a ConfigMap: the pod helper rolls a pod whenever a mounted ConfigMap changes,
  // and Headscale picks up a changed records file by itself (the kubelet swaps a Secret volume's
  // files in place). Names and cluster addresses are no secret: the values stay plain.
  const records = readSitePrivateNames().apply(renderExtraRecords);
  const recordsArgs = { name: "headscale-dns", namespace };
  const recordsFile = new k8s.core.v1.Secret(
    namespacedResourceName(recordsArgs),
    {
      metadata: namespacedMetadata(recordsArgs),
      type: "Opaque",
      stringData: { [headscaleFiles.extraRecords]: records },
    },
    namespacedOptions(recordsArgs),
  );

  // cert-manager writes the certificate into this Secret; Pulumi only makes it, so that the pod
  // can mount it, and leaves its content to cert-manager.
  const tlsSecret = createSecret({
    name: "headscale-tls",
    namespace,
    type: "kubernetes.io/tls",
    stringData: { "tls.crt": "", "tls.key": "" },
    options: { ignoreChanges: ["data", "stringData"] },
  });
  const certificateArgs = {
    name: "headscale",
    namespace,
    // Pulumi waits until it is issued, so Headscale never starts without it.
    annotations: { "pulumi.com/waitFor": "condition=Ready" },
  };
  const certificate = new k8s.apiextensions.CustomResource(
    namespacedResourceName(certificateArgs),
    {
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: namespacedMetadata(certificateArgs),
      spec: {
        secretName: tlsSecret.metadata.name,
        dnsNames: [control.hostname],
        issuerRef: {
          group: "cert-manager.io",
          kind: "ClusterIssuer",
          name: requireStackOutput<{ public: string }>("cert-manager", "issuers").apply(
            (issuers) => issuers.public,
          ),
        },
      },
    },
    { ...namespacedOptions(certificateArgs), dependsOn: [tlsSecret] },
  );

  const ports = [
    { port: control.port, protocol: "TCP" as const },
    { port: stunPort, protocol: "UDP" as const },
  ];
  const inbound = createPolicy({
    name: "headscale-clients",
    description:
      "Every Tailscale client reaches Headscale's HTTPS and STUN: from the internet, and this server's routers and relays.",
    namespace,
    subject: { labels: selectorLabels(headscaleApp) },
    ingress: [
      { peers: [{ entities: ["world"] }], ports },
      { peers: [{ namespaces: clientNamespaces }], ports },
    ],
  });

  const probe = { tcpSocket: { port: control.port } };
  const server = app.service({
    port: control.port,
    portName: "https",
    container: {
      image: images.headscale,
      args: ["serve"],
      ports: [{ name: "stun", port: stunPort, protocol: "UDP" }],
      env: {
        [databaseEnv.host]: database.host,
        [databaseEnv.port]: database.port,
        [databaseEnv.name]: database.database,
        [databaseEnv.user]: database.username,
        [databaseEnv.pass]: database.password,
      },
      volumeMounts: [
        { volume: config, mountPath: headscalePaths.configDir },
        { volume: policyFile, mountPath: headscalePaths.policyDir },
        { volume: recordsFile, mountPath: headscalePaths.dnsDir },
        { volume: tlsSecret, mountPath: headscalePaths.tlsDir },
        { volume: data, mountPath: headscalePaths.dataDir },
        { volume: emptyDir("socket"), mountPath: headscalePaths.socketDir },
      ],
      readinessProbe: { ...probe, periodSeconds: 10 },
      livenessProbe: { ...probe, periodSeconds: 30, failureThreshold: 5 },
      // The first start migrates the database.
      startupProbe: { ...probe, periodSeconds: 5, failureThreshold: 60 },
      securityContext: { capabilities: { drop: ["ALL"] } },
      resources: { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "512Mi" } },
    },
    // Its way in and its certificate exist before it starts, as the kit's own policies do.
    dependsOn: [inbound, certificate],
  });

  // Cilium serves a LoadBalancer Service on the node's own address (nodeIPAM), beside the public
  // Traefik's 80 and 443; the client's address is kept (Local) so that `world` is what it is.
  const publicArgs = { name: "headscale-public", namespace };
  new k8s.core.v1.Service(
    namespacedResourceName(publicArgs),
    {
      metadata: namespacedMetadata(publicArgs),
      spec: {
        type: "LoadBalancer",
        externalTrafficPolicy: "Local",
        // No node port: it would open Headscale on a second port of every node address.
        allocateLoadBalancerNodePorts: false,
        selector: server.workload.selector,
        ports: [
          { name: "https", port: control.port, targetPort: control.port, protocol: "TCP" },
          { name: "stun", port: stunPort, targetPort: stunPort, protocol: "UDP" },
        ],
      },
    },
    namespacedOptions(publicArgs),
  );

  // DNS only: Cloudflare's proxy cannot carry Headscale's control protocol (it upgrades the
  // connection) nor its port, nor STUN.
  if (dnsRecord) {
    createDnsRecord({
      name: "headscale",
      namespace,
      hostname: control.hostname,
      address: shared.server.apply((facts) => facts.publicIp),
      proxied: false,
      parent: app.component,
    });
  }

  return { url: control.url, policy, records, backups: app.backups() };
}

export default async function main() {
  const control = await readTailnetControl(getStack("shared"));
  if (control.kind !== "headscale") {
    pulumi.log.info("servers/site.json configures no Headscale (tailnet.headscale): nothing to deploy");
    return {};
  }
  const here = placedHere(control);
  if (!here.runs) {
    pulumi.log.info(`Headscale runs on ${control.server}: nothing to deploy on ${pulumi.getStack()}`);
    return {};
  }
  const headscale = createHeadscale(control, here.dnsRecords);
  return {
    /** What every client logs in to (tailscale up --login-server). */
    url: headscale.url,
    /** The tailnet policy Headscale applies. */
    tailnetPolicy: headscale.policy,
    /** The private names Headscale serves, as its extra records file lists them. */
    extraRecords: headscale.records,
    /** Its backups (the data volume and its database, one repository), for `task backup:status`. */
    backups: headscale.backups,
  };
}
