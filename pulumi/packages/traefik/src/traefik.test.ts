import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { validateHelmValues } from "@tools/synth/src/validate/helm-values";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import { traefikClusterRules } from "./rbac";
import { createTraefik, type TraefikArgs, traefikControllerName } from "./traefik";

const releaseType = "kubernetes:helm.sh/v3:Release";
const testCa = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

/** Renders one Traefik in namespace `edge`, with the arguments each test varies. */
async function renderTraefik(args: Partial<Omit<TraefikArgs, "namespace">> = {}) {
  const rendered = await render(() => {
    const provider = new k8s.Provider("cluster", { context: "test" });
    const namespace = createNamespace({ name: "edge", provider });
    createTraefik({
      namespace,
      gatewayClass: "internal",
      description: "Private apps",
      gatewayApiVersion: "v1.6.1",
      service: { type: "ClusterIP", clusterIp: "10.43.0.53" },
      clients: [{ endpoints: { "app.kubernetes.io/name": "router" } }],
      statusAddress: "10.43.0.53",
      servedNamespaces: ["notes", "tools"],
      ...args,
    });
  });
  assert.deepEqual(rendered.errors, []);
  const release = rendered.resources.find((resource) => resource.type === releaseType);
  assert.ok(release, "no Helm release was registered");
  return { rendered, release, values: release.inputs.values as Record<string, any> };
}

describe("createTraefik", () => {
  let clusterIp: Awaited<ReturnType<typeof renderTraefik>>;
  let loadBalancer: Awaited<ReturnType<typeof renderTraefik>>;
  let idle: Awaited<ReturnType<typeof renderTraefik>>;

  before(async () => {
    clusterIp = await renderTraefik();
    loadBalancer = await renderTraefik({
      gatewayClass: "public",
      service: { type: "LoadBalancer", externalTrafficPolicy: "Local" },
      clients: [{ cidrs: ["173.245.48.0/20", "2400:cb00::/32"] }],
      trustedForwarders: ["173.245.48.0/20", "2400:cb00::/32"],
      statusAddress: "203.0.113.10",
      servedNamespaces: ["blog"],
      clientCertificateAuthorities: [testCa],
    });
    idle = await renderTraefik({ gatewayClass: "spare", servedNamespaces: [] });
  });

  it("creates the GatewayClass of the given name for Traefik's controller", () => {
    const gatewayClass = clusterIp.rendered.manifest("GatewayClass", "internal");
    assert.equal(gatewayClass.apiVersion, "gateway.networking.k8s.io/v1");
    assert.equal(gatewayClass.spec.controllerName, traefikControllerName);
    assert.equal(traefikControllerName, "traefik.io/gateway-controller");
    assert.equal(gatewayClass.spec.description, "Private apps");
  });

  it("lets this Traefik take only its own GatewayClass, by the class's label", () => {
    const gatewayClass = clusterIp.rendered.manifest("GatewayClass", "internal");
    const selector = clusterIp.values.providers.kubernetesGateway.labelSelector as string;
    const [key, value] = selector.split("=");
    assert.ok(key && value, `not a key=value selector: ${selector}`);
    assert.equal(gatewayClass.metadata.labels[key], value);
    assert.equal(value, "internal");
    assert.equal(loadBalancer.values.providers.kubernetesGateway.labelSelector, `${key}=public`);
  });

  it("keeps Traefik to the Gateway API: Ingress and IngressRoute providers off, no chart GatewayClass or Gateway", () => {
    const { values } = clusterIp;
    assert.equal(values.providers.kubernetesGateway.enabled, true);
    assert.equal(values.providers.kubernetesCRD.enabled, false);
    assert.equal(values.providers.kubernetesIngress.enabled, false);
    assert.equal(values.ingressClass.enabled, false);
    assert.equal(values.gatewayClass.enabled, false);
    assert.equal(values.gateway.enabled, false);
  });

  it("installs the pinned chart from Traefik's repository", () => {
    assert.equal(clusterIp.release.inputs.chart, "traefik");
    assert.equal(clusterIp.release.inputs.version, "41.3.0");
    assert.deepEqual(clusterIp.release.inputs.repositoryOpts, { repo: "https://traefik.github.io/charts" });
  });

  it("listens on entrypoints web (8000) and websecure (8443), published on the Service's 80 and 443", () => {
    assert.deepEqual(clusterIp.values.ports, {
      web: { port: 8000, exposedPort: 80, expose: { default: true } },
      websecure: { port: 8443, exposedPort: 443, expose: { default: true } },
    });
  });

  it("puts a ClusterIP Service on the address it is given, and reports the status address on its Gateways, never its own Service's", () => {
    assert.deepEqual(clusterIp.values.service, { spec: { type: "ClusterIP", clusterIP: "10.43.0.53" } });
    assert.deepEqual(clusterIp.values.providers.kubernetesGateway.statusAddress, {
      ip: "10.43.0.53",
      service: { enabled: false },
    });
  });

  it("puts a LoadBalancer Service on the node with the client's source address kept and no node ports", () => {
    assert.deepEqual(loadBalancer.values.service, {
      spec: { type: "LoadBalancer", externalTrafficPolicy: "Local", allocateLoadBalancerNodePorts: false },
    });
  });

  it("requests CPU and memory for Traefik and caps its memory but not its CPU", () => {
    for (const { values } of [clusterIp, loadBalancer, idle]) {
      assert.deepEqual(values.resources, {
        requests: { cpu: "50m", memory: "64Mi" },
        limits: { memory: "256Mi" },
      });
    }
  });

  it("runs Traefik's pod as the chart's non-root user with the runtime's seccomp profile, as restricted requires", () => {
    assert.deepEqual(clusterIp.values.podSecurityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("trusts forwarded headers only from the proxies it is given", () => {
    assert.equal(clusterIp.values.ports.web.forwardedHeaders, undefined);
    for (const entryPoint of ["web", "websecure"]) {
      assert.deepEqual(loadBalancer.values.ports[entryPoint].forwardedHeaders, {
        trustedIPs: ["173.245.48.0/20", "2400:cb00::/32"],
      });
    }
  });

  it("renders values the chart's schema accepts, for both kinds of Service and with the provider off", () => {
    for (const { release } of [clusterIp, loadBalancer, idle]) {
      const inputs = release.inputs as { chart: string; version: string; values: unknown };
      assert.deepEqual(validateHelmValues(inputs.chart, inputs.version, inputs.values), []);
    }
  });

  it("renders a GatewayClass, RBAC and policy the vendored schemas accept", async () => {
    for (const { rendered } of [clusterIp, loadBalancer, idle]) {
      for (const object of rendered.manifests) {
        assert.deepEqual(await validateObjectSchema(object), [], `${object.kind}`);
      }
    }
  });

  it("lets only its clients in, and only on the entrypoint ports", () => {
    const policy = loadBalancer.rendered.manifest("CiliumNetworkPolicy", "traefik");
    assert.deepEqual(policy.spec.endpointSelector, {
      matchLabels: { "app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik" },
    });
    assert.deepEqual(policy.spec.ingress, [
      {
        fromCIDRSet: [{ cidr: "173.245.48.0/20" }, { cidr: "2400:cb00::/32" }],
        toPorts: [
          {
            ports: [
              { port: "8000", protocol: "TCP" },
              { port: "8443", protocol: "TCP" },
            ],
          },
        ],
      },
    ]);
  });

  it("lets Traefik out to the API server and kube-dns only: each exposure adds its own backend", () => {
    const policy = clusterIp.rendered.manifest("CiliumNetworkPolicy", "traefik");
    assert.deepEqual(policy.spec.egress, [
      { toEntities: ["kube-apiserver"], toPorts: [{ ports: [{ port: "6443", protocol: "TCP" }] }] },
      {
        toEndpoints: [
          { matchLabels: { "k8s:k8s-app": "kube-dns", "k8s:io.kubernetes.pod.namespace": "kube-system" } },
        ],
        toPorts: [
          {
            ports: [
              { port: "53", protocol: "UDP" },
              { port: "53", protocol: "TCP" },
            ],
          },
        ],
      },
    ]);
  });

  it("keeps a Traefik that serves no namespace away from the API server", () => {
    const policy = idle.rendered.manifest("CiliumNetworkPolicy", "traefik");
    assert.deepEqual(
      policy.spec.egress.map((rule: Record<string, any>) => Object.keys(rule)),
      [["toEndpoints", "toPorts"]],
    );
    assert.equal(policy.spec.egress[0].toEndpoints[0].matchLabels["k8s:k8s-app"], "kube-dns");
  });

  it("turns the chart's RBAC off and runs Traefik as its own account", () => {
    assert.deepEqual(clusterIp.values.rbac, { enabled: false });
    assert.deepEqual(clusterIp.values.serviceAccount, { name: "traefik" });
    const account = clusterIp.rendered.manifest("ServiceAccount", "traefik");
    assert.equal(account.metadata.namespace, "edge");
    assert.equal(account.automountServiceAccountToken, true);
  });

  it("watches only the namespaces it serves", () => {
    assert.deepEqual(clusterIp.values.providers.kubernetesGateway.namespaces, ["notes", "tools"]);
    assert.deepEqual(loadBalancer.values.providers.kubernetesGateway.namespaces, ["blog"]);
  });

  it("reads cluster-wide only namespace names and GatewayClasses, and writes only its own class's status", () => {
    const role = clusterIp.rendered.manifest("ClusterRole", "traefik-internal");
    assert.deepEqual(role.rules, [
      { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
      {
        apiGroups: ["gateway.networking.k8s.io"],
        resources: ["gatewayclasses"],
        verbs: ["get", "list", "watch"],
      },
      {
        apiGroups: ["gateway.networking.k8s.io"],
        resources: ["gatewayclasses/status"],
        verbs: ["update"],
        resourceNames: ["internal"],
      },
    ]);
    assert.deepEqual(traefikClusterRules("internal"), role.rules);
    const readsSecrets = role.rules.some((rule: Record<string, any>) => rule.resources.includes("secrets"));
    assert.equal(readsSecrets, false);
    const binding = clusterIp.rendered.manifest("ClusterRoleBinding", "traefik-internal");
    assert.deepEqual(binding.roleRef, {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "traefik-internal",
    });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: "traefik", namespace: "edge" }]);
  });

  it("turns the Gateway API provider off and binds its account to no role when it serves no namespace", () => {
    assert.deepEqual(idle.values.providers.kubernetesGateway, { enabled: false });
    const kinds = idle.rendered.manifests.map((object: Record<string, any>) => object.kind);
    assert.ok(!kinds.includes("ClusterRole") && !kinds.includes("ClusterRoleBinding"), kinds.join(", "));
  });

  it("requires a client certificate from the given authorities on every TLS connection, through the default TLS option", () => {
    assert.deepEqual(loadBalancer.values.providers.file, {
      enabled: true,
      content: {
        tls: {
          options: {
            default: { clientAuth: { caFiles: [testCa], clientAuthType: "RequireAndVerifyClientCert" } },
          },
        },
      },
    });
    assert.equal(clusterIp.values.providers.file, undefined);
  });

  it("refuses an empty list of client certificate authorities", async () => {
    const rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createTraefik({
        namespace: createNamespace({ name: "edge", provider }),
        gatewayClass: "public",
        description: "Public apps",
        gatewayApiVersion: "v1.6.1",
        service: { type: "ClusterIP" },
        clients: [],
        statusAddress: "203.0.113.10",
        servedNamespaces: [],
        clientCertificateAuthorities: [],
      });
    });
    assert.match(rendered.errors.join("\n"), /at least one client certificate authority/);
  });

  it("has the chart label its pods' instance with the release's name, which the policy selects", () => {
    const policy = clusterIp.rendered.manifest("CiliumNetworkPolicy", "traefik");
    assert.equal(clusterIp.release.inputs.name, "traefik");
    assert.equal(clusterIp.values.instanceLabelOverride, "traefik");
    assert.equal(policy.spec.endpointSelector.matchLabels["app.kubernetes.io/instance"], "traefik");
    // The chart's name is its pods' app.kubernetes.io/name.
    assert.equal(
      policy.spec.endpointSelector.matchLabels["app.kubernetes.io/name"],
      clusterIp.release.inputs.chart,
    );
  });

  it("installs Traefik only after its policy, GatewayClass, account and roles exist", () => {
    const { rendered, release } = clusterIp;
    const urnOf = (type: string) => rendered.resources.find((resource) => resource.type === type)?.urn;
    for (const type of [
      "kubernetes:cilium.io/v2:CiliumNetworkPolicy",
      "kubernetes:gateway.networking.k8s.io/v1:GatewayClass",
      "kubernetes:core/v1:ServiceAccount",
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole",
      "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
    ]) {
      assert.ok(release.dependsOn.includes(urnOf(type) ?? "-"), type);
    }
  });
});
