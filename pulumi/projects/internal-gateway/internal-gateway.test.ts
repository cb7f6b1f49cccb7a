import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNamespace } from "@infra/k8s";
import { privateTlsNamespace } from "@projects/common";
import * as k8s from "@pulumi/kubernetes";
import { render } from "@tools/synth/src/testing";
import { validateObjectSchema } from "@tools/synth/src/validate/object-schemas";
import { privateNameservers } from "./split-dns";
import { createWildcardCertificate, wildcardNames } from "./wildcard-certificate";

// What the project renders on the example stacks (the certificate, the split DNS on the policy
// owner, the router's path to the private DNS) is tested in tools/synth/src/e2e/gateways.test.ts
// and tailnet.test.ts; this file tests its pieces.

describe("the server's wildcard certificate of its private names", () => {
  it("covers every site name and every name of this server in the private zone, and nothing else", () => {
    assert.deepEqual(wildcardNames("internal.example.com", "cloud-a"), [
      "*.internal.example.com",
      "*.cloud-a.internal.example.com",
    ]);
  });

  it("is issued by the public issuer into its Secret, in the TLS namespace, and waited for until Ready", async () => {
    let secretName: string | undefined;
    const rendered = await render(
      () => {
        const provider = new k8s.Provider("cluster", { context: "cloud-a" });
        const namespace = createNamespace({ name: privateTlsNamespace, provider });
        ({ secretName } = createWildcardCertificate({
          namespace,
          privateDomain: "internal.example.com",
          server: "cloud-a",
        }));
      },
      {
        project: "internal-gateway",
        stack: "cloud-a",
        stackExports: { "cert-manager": { issuers: { public: "public", plain: "plain" } } },
      },
    );
    assert.deepEqual(rendered.errors, []);
    assert.equal(secretName, "private-wildcard-tls");
    const certificate = rendered.manifest("Certificate", "private-wildcard");
    assert.equal(certificate.metadata.namespace, "internal-gateway-tls");
    assert.equal(certificate.metadata.annotations["pulumi.com/waitFor"], "condition=Ready");
    assert.deepEqual(certificate.spec, {
      secretName: "private-wildcard-tls",
      dnsNames: ["*.internal.example.com", "*.cloud-a.internal.example.com"],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "public" },
    });
    assert.deepEqual(await validateObjectSchema(certificate), []);
  });
});

describe("the tailnet's split DNS", () => {
  it("names every server's private DNS, on the 55th address of its service range, in the servers' order", () => {
    assert.deepEqual(
      privateNameservers([
        { name: "cloud-a", serviceCidr: "10.43.0.0/16" },
        { name: "cloud-b", serviceCidr: "10.45.0.0/16" },
        { name: "local-a", serviceCidr: "10.47.0.0/16" },
      ]),
      ["10.43.0.55", "10.45.0.55", "10.47.0.55"],
    );
  });
});
