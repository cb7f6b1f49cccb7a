import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { container } from "@tools/synth/src/e2e/app-output";
import { isWrappedSecret } from "@tools/synth/src/secrets";
import { type RenderedProgram, render } from "@tools/synth/src/testing";
import { createVpnRelay } from "./relay";
import { exampleLocation, placeholderKey } from "./testing/example-location";

// A relay of a Headscale tailnet, rendered as the vpn project creates it there: its key comes
// from Headscale (here a given secret), so nothing of Tailscale's service is created or reached.
describe("a VPN relay on a Headscale tailnet", () => {
  let rendered: RenderedProgram;

  before(async () => {
    rendered = await render(() => {
      const provider = new k8s.Provider("cluster", { context: "test" });
      createVpnRelay({
        namespace: createNamespace({ name: "vpn", provider, podSecurity: "privileged" }),
        location: exampleLocation,
        privateKey: pulumi.secret(placeholderKey(2)),
        tag: "tag:vpn-relay",
        headscale: {
          loginServer: "https://headscale.example.com:8443",
          authKey: pulumi.secret("hskey-auth-EXAMPLE"),
          endpoint: {
            port: 8443,
            namespace: "headscale",
            podLabels: { "app.kubernetes.io/name": "headscale" },
          },
        },
      });
    });
    assert.deepEqual(rendered.errors, []);
  });

  it("registers no Tailscale resource and no Tailscale provider", () => {
    assert.deepEqual(
      rendered.resources
        .filter(
          (resource) =>
            resource.type.startsWith("tailscale:") || resource.type === "pulumi:providers:tailscale",
        )
        .map((resource) => resource.type),
      [],
    );
  });

  it("logs in to Headscale as an exit node with the key it is given, a Pulumi secret, and uploads no logs to Tailscale", () => {
    const tailscale = container(rendered.manifest("Deployment", "relay-example"), "tailscale");
    const variables = Object.fromEntries(
      tailscale.env.map((variable: { name: string; value?: string; valueFrom?: unknown }) => [
        variable.name,
        variable.value ?? variable.valueFrom,
      ]),
    );
    assert.equal(
      variables.TS_EXTRA_ARGS,
      "--advertise-exit-node --advertise-tags=tag:vpn-relay --login-server=https://headscale.example.com:8443",
    );
    assert.equal(variables.TS_NO_LOGS_NO_SUPPORT, "true");
    assert.deepEqual(variables.TS_AUTHKEY, {
      secretKeyRef: { name: "relay-example-tailscale-auth", key: "authkey" },
    });
    const secret = rendered.resources.find(
      (resource) => resource.name === "vpn/relay-example-tailscale-auth",
    );
    const stringData = secret?.inputs.stringData as Record<string, unknown>;
    assert.ok(isWrappedSecret(stringData) || isWrappedSecret(stringData.authkey));
  });

  it("reaches the provider's server, Headscale's port and STUN, peers, and the API server; not Tailscale's 443", () => {
    const egress = rendered.manifest("CiliumNetworkPolicy", "relay-example").spec.egress as Record<
      string,
      any
    >[];
    const ports = egress.map((rule) =>
      rule.toPorts[0].ports.map(
        (port: { port: string; protocol: string }) => `${port.port}/${port.protocol}`,
      ),
    );
    assert.deepEqual(ports, [
      ["51820/UDP"],
      ["8443/TCP", "3478/UDP"],
      ["8443/TCP", "3478/UDP"],
      ["41641/UDP"],
      ["6443/TCP"],
    ]);
  });
});
