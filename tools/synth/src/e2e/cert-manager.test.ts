import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { charts } from "@infra/core";
import { secretPlaceholder } from "../stack-config";
import { type ExampleOutput, exampleStacks, synthExampleStacks } from "./example-stacks";

const project = "cert-manager";
const namespace = "cert-manager";

let output: ExampleOutput;
before(async () => {
  output = await synthExampleStacks([project]);
});
after(() => output.remove());

const policy = (stack: string, name: string) => output.manifest(stack, project, "CiliumNetworkPolicy", name);
const tcp = (port: number) => [{ ports: [{ port: String(port), protocol: "TCP" }] }];
const podLabels = (name: string, component: string) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/instance": "cert-manager",
  "app.kubernetes.io/component": component,
});

describe("the cert-manager layer of the example stacks", () => {
  it("synthesizes and validates without a problem", () => {
    assert.deepEqual(output.problems, []);
  });

  it("runs after shared, cilium and gateway-api, reading the Gateway API CRDs it watches", () => {
    for (const stack of exampleStacks) {
      const order = output.order(stack);
      assert.deepEqual(
        order.map((entry) => entry.project),
        ["shared", "cilium", "gateway-api", "cert-manager"],
        stack,
      );
      assert.deepEqual(order.at(-1)?.reads["gateway-api"], ["crdNames", "gatewayApiVersion"]);
    }
  });

  it("installs the pinned chart from its repository into its own namespace", () => {
    for (const stack of exampleStacks) {
      const release = output.release(stack, project);
      assert.equal(release.chart, "cert-manager");
      assert.equal(release.version, charts.certManager.version);
      assert.deepEqual(release.repositoryOpts, { repo: "https://charts.jetstack.io" });
      assert.equal(release.name, "cert-manager");
      assert.equal(release.namespace, namespace);
      output.manifest(stack, project, "Namespace", namespace);
    }
  });

  it("installs the CRDs with the chart and turns Gateway API support on", () => {
    for (const stack of exampleStacks) {
      const { values } = output.release(stack, project);
      assert.deepEqual(values.crds, { enabled: true, keep: true });
      assert.equal(values.config.enableGatewayAPI, true);
    }
  });

  it("sends the DNS-01 self-check only to the configured resolvers, and lets the controller reach exactly those", () => {
    for (const stack of exampleStacks) {
      const configured: string[] = output.config(stack, project)["cert-manager:recursiveNameservers"];
      const { values } = output.release(stack, project);
      assert.equal(values.dns01RecursiveNameservers, configured.join(","));
      assert.equal(values.dns01RecursiveNameserversOnly, true);
      const rules: Record<string, any>[] = policy(stack, "controller-egress").spec.egress;
      const resolvers = rules.filter((rule) => rule.toCIDRSet);
      assert.deepEqual(resolvers, [
        {
          toCIDRSet: configured.map((server) => ({ cidr: `${server.split(":")[0]}/32` })),
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
    }
  });

  it("lets the controller reach only the ACME directory's host and Cloudflare's API over HTTPS", () => {
    for (const stack of exampleStacks) {
      const { acme } = output.outputs(stack, "shared");
      const egress = policy(stack, "controller-egress");
      assert.deepEqual(egress.spec.endpointSelector, {
        matchLabels: podLabels("cert-manager", "controller"),
      });
      const named = (egress.spec.egress as Record<string, any>[]).filter((rule) => rule.toFQDNs);
      assert.deepEqual(named, [
        {
          toFQDNs: [{ matchName: new URL(acme.server).hostname }, { matchName: "api.cloudflare.com" }],
          toPorts: tcp(443),
        },
      ]);
      assert.equal(new URL(acme.server).hostname, "acme-v02.api.letsencrypt.org");
    }
  });

  it("lets only the API server call the webhook, on the port the chart serves it", () => {
    for (const stack of exampleStacks) {
      const { values } = output.release(stack, project);
      const webhook = policy(stack, "webhook-from-api-server");
      assert.deepEqual(webhook.spec.endpointSelector, { matchLabels: podLabels("webhook", "webhook") });
      assert.deepEqual(webhook.spec.ingress, [
        { fromEntities: ["kube-apiserver"], toPorts: tcp(values.webhook.securePort) },
      ]);
      assert.equal(values.webhook.securePort, 10250);
    }
  });

  it("lets the controller, cainjector, webhook and startup check call the API server on 6443", () => {
    const components = [
      ["controller", "cert-manager"],
      ["cainjector", "cainjector"],
      ["webhook", "webhook"],
      ["startupapicheck", "startupapicheck"],
    ];
    for (const stack of exampleStacks) {
      for (const [component, name] of components) {
        const apiServer = policy(stack, `${component}-to-api-server`);
        assert.deepEqual(apiServer.spec.endpointSelector, {
          matchLabels: podLabels(name as string, component as string),
        });
        assert.deepEqual(apiServer.spec.egress, [{ toEntities: ["kube-apiserver"], toPorts: tcp(6443) }]);
      }
    }
  });

  it("gives the public issuer DNS-01 in the shared domain through Cloudflare, with the token Secret's name and key", () => {
    for (const stack of exampleStacks) {
      const { domain } = output.outputs(stack, "shared");
      const issuer = output.manifest(stack, project, "ClusterIssuer", "public");
      const [solver, ...others] = issuer.spec.acme.solvers;
      assert.deepEqual(others, []);
      assert.deepEqual(solver.selector, { dnsZones: [domain] });
      const reference = solver.dns01.cloudflare.apiTokenSecretRef;
      const secret = output.manifest(stack, project, "Secret", reference.name);
      assert.equal(secret.metadata.namespace, namespace);
      assert.deepEqual(Object.keys(secret.stringData), [reference.key]);
      assert.deepEqual(reference, { name: "cloudflare-api-token", key: "api-token" });
    }
  });

  it("registers the public issuer's ACME account with the e-mail and directory from the shared config", () => {
    for (const stack of exampleStacks) {
      const { acme } = output.outputs(stack, "shared");
      const issuer = output.manifest(stack, project, "ClusterIssuer", "public");
      assert.equal(issuer.spec.acme.email, acme.email);
      assert.equal(issuer.spec.acme.server, acme.server);
      assert.deepEqual(issuer.spec.acme.privateKeySecretRef, { name: "public-acme-account" });
    }
  });

  it("makes the plain issuer self-signed", () => {
    for (const stack of exampleStacks) {
      assert.deepEqual(output.manifest(stack, project, "ClusterIssuer", "plain").spec, { selfSigned: {} });
    }
  });

  it("never writes the Cloudflare API token in plain text", () => {
    for (const stack of exampleStacks) {
      const secret = output.manifest(stack, project, "Secret", "cloudflare-api-token");
      assert.deepEqual(secret.stringData, { "api-token": "[secret]" });
      assert.equal(output.outputs(stack, "shared").cloudflareApiToken, "[secret]");
      const token = secretPlaceholder(stack, "shared:cloudflareApiToken");
      const leaks = output.files(stack).filter((file) => file.text.includes(token));
      assert.deepEqual(
        leaks.map((file) => file.path),
        [],
      );
    }
  });

  it("exports its namespace and the issuer names for the layers above", () => {
    for (const stack of exampleStacks) {
      assert.deepEqual(output.outputs(stack, project), {
        issuers: { public: "public", plain: "plain" },
        namespace,
      });
    }
  });
});
