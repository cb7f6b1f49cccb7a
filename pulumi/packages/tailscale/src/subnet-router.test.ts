import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { isWrappedSecret } from "@tools/synth/src/secrets";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import { createSubnetRouter } from "./subnet-router";

const keyType = "tailscale:index/tailnetKey:TailnetKey";

function env(deployment: Record<string, any>): Record<string, any> {
  const [container] = deployment.spec.template.spec.containers;
  return Object.fromEntries(
    container.env.map((variable: Record<string, any>) => [
      variable.name,
      variable.value ?? variable.valueFrom,
    ]),
  );
}

describe("createSubnetRouter", () => {
  let rendered: RenderedProgram;

  before(async () => {
    rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      const namespace = createNamespace({ name: "edge", provider });
      createSubnetRouter({
        name: "router",
        namespace,
        hostname: pulumi.output("cloud-a-router"),
        routes: [pulumi.output("10.43.0.53/32"), "10.43.0.54/32"],
        tag: "tag:k8s-router-cloud-a",
        tailscaleProvider: new tailscale.Provider("tailscale", { tailnet: "-" }),
        destinations: [
          { peers: [{ endpoints: { "app.kubernetes.io/name": "traefik" } }], ports: [{ port: 8443 }] },
        ],
      });
    });
    assert.deepEqual(rendered.errors, []);
  });

  it("authenticates with a single-use, pre-authorized auth key carrying the router's tag", () => {
    const key = rendered.resources.find((resource) => resource.type === keyType);
    assert.ok(key, "no TailnetKey was registered");
    assert.equal(key.inputs.preauthorized, true);
    assert.equal(key.inputs.reusable, false);
    assert.equal(key.inputs.ephemeral, false);
    assert.deepEqual(key.inputs.tags, ["tag:k8s-router-cloud-a"]);
  });

  it("lets the auth key expire unused after an hour, and never makes a new one once it is used or expired", () => {
    const key = rendered.resources.find((resource) => resource.type === keyType);
    assert.equal(key?.inputs.expiry, 3600);
    assert.equal(key?.inputs.recreateIfInvalid, "never");
  });

  it("gives the auth key the expiry it is asked for", async () => {
    const short = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createSubnetRouter({
        namespace: createNamespace({ name: "edge", provider }),
        hostname: "cloud-a-router",
        routes: ["10.43.0.53/32"],
        tag: "tag:k8s-router-cloud-a",
        tailscaleProvider: new tailscale.Provider("tailscale", { tailnet: "-" }),
        authKeyExpirySeconds: 600,
        destinations: [{ peers: [{ endpoints: { app: "x" } }] }],
      });
    });
    assert.equal(short.resources.find((resource) => resource.type === keyType)?.inputs.expiry, 600);
  });

  it("hands the auth key to the pod from a Secret, and keeps it a Pulumi secret", () => {
    const deployment = rendered.manifest("Deployment", "router");
    assert.deepEqual(env(deployment).TS_AUTHKEY, { secretKeyRef: { name: "router-auth", key: "authkey" } });
    const secret = rendered.resources.find(
      (resource) => resource.type === "kubernetes:core/v1:Secret" && resource.name === "edge/router-auth",
    );
    assert.ok(secret);
    const stringData = secret.inputs.stringData as Record<string, unknown>;
    assert.ok(
      isWrappedSecret(stringData) || isWrappedSecret(stringData.authkey),
      "the auth key reached the Secret in plain text",
    );
  });

  it("advertises its routes under its hostname, in userspace mode, keeping its state in its own Secret", () => {
    const variables = env(rendered.manifest("Deployment", "router"));
    assert.equal(variables.TS_ROUTES, "10.43.0.53/32,10.43.0.54/32");
    assert.equal(variables.TS_HOSTNAME, "cloud-a-router");
    assert.equal(variables.TS_USERSPACE, "true");
    assert.equal(variables.TS_KUBE_SECRET, "router-state");
    assert.equal(variables.TS_EXTRA_ARGS, "--advertise-tags=tag:k8s-router-cloud-a");
    assert.equal(rendered.manifest("Secret", "router-state").metadata.namespace, "edge");
  });

  it("may read and update only its state Secret through the API server", () => {
    assert.deepEqual(rendered.manifest("Role", "router").rules, [
      {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["get", "update", "patch"],
        resourceNames: ["router-state"],
      },
    ]);
    const policy = rendered.manifest("CiliumNetworkPolicy", "router-to-api-server");
    assert.deepEqual(policy.spec.egress, [
      { toEntities: ["kube-apiserver"], toPorts: [{ ports: [{ port: "6443", protocol: "TCP" }] }] },
    ]);
  });

  it("runs one pod at a time, unprivileged, with every capability dropped", () => {
    const deployment = rendered.manifest("Deployment", "router");
    assert.equal(deployment.spec.replicas, 1);
    assert.equal(deployment.spec.strategy.type, "Recreate");
    assert.equal(deployment.spec.template.spec.securityContext.runAsNonRoot, true);
    assert.deepEqual(deployment.spec.template.spec.containers[0].securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
    });
  });

  it("reserves CPU and memory for the router and caps its memory, never its CPU", () => {
    const [container] = rendered.manifest("Deployment", "router").spec.template.spec.containers;
    assert.deepEqual(container.resources, {
      requests: { cpu: "10m", memory: "64Mi" },
      limits: { memory: "256Mi" },
    });
  });

  it("reaches Tailscale's servers and relays on 443 and STUN on the public internet only, and peers' WireGuard port anywhere outside the cluster", () => {
    const policy = rendered.manifest("CiliumNetworkPolicy", "router-tailscale");
    assert.deepEqual(policy.spec.egress, [
      {
        toCIDRSet: [
          {
            cidr: "0.0.0.0/0",
            except: ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
          },
        ],
        toPorts: [
          {
            ports: [
              { port: "443", protocol: "TCP" },
              { port: "3478", protocol: "UDP" },
            ],
          },
        ],
      },
      { toEntities: ["world"], toPorts: [{ ports: [{ port: "41641", protocol: "UDP" }] }] },
    ]);
  });

  it("forwards routed traffic only to the destinations it is given", () => {
    const policy = rendered.manifest("CiliumNetworkPolicy", "router-routes");
    assert.deepEqual(policy.spec.egress, [
      {
        toEndpoints: [{ matchLabels: { "app.kubernetes.io/name": "traefik" } }],
        toPorts: [{ ports: [{ port: "8443", protocol: "TCP" }] }],
      },
    ]);
    assert.equal(policy.spec.ingress, undefined);
  });

  it("renders objects the schemas accept", async () => {
    for (const object of rendered.manifests) {
      assert.deepEqual(
        await validateObjectSchema(object),
        [],
        `${object.kind} ${(object.metadata as { name?: string }).name}`,
      );
    }
  });
});

describe("createSubnetRouter on a Headscale tailnet", () => {
  let rendered: RenderedProgram;
  const endpoint = {
    port: 8443,
    namespace: "headscale",
    podLabels: { "app.kubernetes.io/name": "headscale" },
  };

  before(async () => {
    rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createSubnetRouter({
        name: "router",
        namespace: createNamespace({ name: "edge", provider }),
        hostname: "cloud-a-router",
        routes: ["10.43.0.53/32"],
        tag: "tag:k8s-router-cloud-a",
        headscale: {
          loginServer: "https://headscale.example.com:8443",
          authKey: pulumi.secret("hskey-auth-EXAMPLE"),
          endpoint,
        },
        destinations: [{ peers: [{ endpoints: { app: "x" } }] }],
      });
    });
    assert.deepEqual(rendered.errors, []);
  });

  it("makes no key at Tailscale and registers no Tailscale resource at all", () => {
    assert.deepEqual(
      rendered.resources.filter(
        (resource) =>
          resource.type.startsWith("tailscale:") || resource.type === "pulumi:providers:tailscale",
      ),
      [],
    );
  });

  it("logs in to Headscale with the key it is given, kept a Pulumi secret, and sends no logs to Tailscale", () => {
    const variables = env(rendered.manifest("Deployment", "router"));
    assert.equal(
      variables.TS_EXTRA_ARGS,
      "--advertise-tags=tag:k8s-router-cloud-a --login-server=https://headscale.example.com:8443",
    );
    assert.equal(variables.TS_NO_LOGS_NO_SUPPORT, "true");
    assert.deepEqual(variables.TS_AUTHKEY, { secretKeyRef: { name: "router-auth", key: "authkey" } });
    const secret = rendered.resources.find((resource) => resource.name === "edge/router-auth");
    const stringData = secret?.inputs.stringData as Record<string, unknown>;
    assert.ok(isWrappedSecret(stringData) || isWrappedSecret(stringData.authkey));
    assert.deepEqual(rendered.manifest("Secret", "router-auth").stringData, {
      authkey: "hskey-auth-EXAMPLE",
    });
  });

  it("reaches Headscale's port and STUN on the public internet and in its namespace, and peers' WireGuard port, and not 443", () => {
    const policy = rendered.manifest("CiliumNetworkPolicy", "router-tailscale");
    const ports = {
      toPorts: [
        {
          ports: [
            { port: "8443", protocol: "TCP" },
            { port: "3478", protocol: "UDP" },
          ],
        },
      ],
    };
    assert.deepEqual(policy.spec.egress, [
      {
        toCIDRSet: [
          {
            cidr: "0.0.0.0/0",
            except: ["10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16"],
          },
        ],
        ...ports,
      },
      {
        toEndpoints: [
          {
            matchLabels: {
              "app.kubernetes.io/name": "headscale",
              "k8s:io.kubernetes.pod.namespace": "headscale",
            },
          },
        ],
        ...ports,
      },
      { toEntities: ["world"], toPorts: [{ ports: [{ port: "41641", protocol: "UDP" }] }] },
    ]);
  });

  it("refuses both a Tailscale provider and a Headscale login, and neither", async () => {
    const both = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createSubnetRouter({
        namespace: createNamespace({ name: "edge", provider }),
        hostname: "h",
        routes: [],
        tag: "tag:t",
        tailscaleProvider: new tailscale.Provider("tailscale", { tailnet: "-" }),
        headscale: { loginServer: "https://h", authKey: "k", endpoint },
        destinations: [{ peers: [{ endpoints: { app: "x" } }] }],
      });
    });
    assert.match(both.errors.join("\n"), /either a Tailscale provider or a Headscale login, not both/);
    const neither = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createSubnetRouter({
        namespace: createNamespace({ name: "edge", provider }),
        hostname: "h",
        routes: [],
        tag: "tag:t",
        destinations: [{ peers: [{ endpoints: { app: "x" } }] }],
      });
    });
    assert.match(neither.errors.join("\n"), /either a Tailscale provider or a Headscale login/);
  });
});
