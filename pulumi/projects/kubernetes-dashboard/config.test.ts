import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { render } from "@tools/synth/src/testing";
import { dashboardHostname } from "./config";

/** The name `dashboardHostname` resolves to in project kubernetes-dashboard, stack cloud-a, and any errors. */
async function resolveHostname(configured: string | undefined) {
  let hostname: string | undefined;
  const { errors } = await render(
    () => {
      dashboardHostname({ configured, server: "cloud-a", domain: "example.com" }).apply((name) => {
        hostname = name;
      });
    },
    { project: "kubernetes-dashboard", stack: "cloud-a" },
  );
  return { hostname, errors };
}

describe("dashboardHostname", () => {
  it("names the dashboard after the server in the shared domain when no name is configured", async () => {
    assert.deepEqual(await resolveHostname(undefined), {
      hostname: "dashboard.cloud-a.example.com",
      errors: [],
    });
  });

  it("keeps a configured name inside the shared domain", async () => {
    assert.deepEqual(await resolveHostname("k8s.home.example.com"), {
      hostname: "k8s.home.example.com",
      errors: [],
    });
  });

  it("fails on a configured name outside the shared domain, naming the key, stack and domain", async () => {
    const { hostname, errors } = await resolveHostname("dashboard.example.org");
    assert.equal(hostname, undefined);
    assert.deepEqual(errors, [
      'Config "kubernetes-dashboard:hostname" of stack "cloud-a" is dashboard.example.org, ' +
        "which is not in the shared project's domain example.com",
    ]);
  });
});
