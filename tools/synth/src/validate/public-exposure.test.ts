import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StackObject } from "./meaning";
import { checkPublicExposure, type StackDnsRecord } from "./public-exposure";

type Manifest = Record<string, any>;

const gatewayClass = (name: string, project: string): StackObject => ({
  project,
  object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name } },
});

const gateway = (name: string, className: string, hostname: string): StackObject => ({
  project: "blog",
  object: {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name, namespace: "blog" },
    spec: {
      gatewayClassName: className,
      listeners: [
        { name: "https", protocol: "HTTPS", port: 8443, hostname },
        { name: "http", protocol: "HTTP", port: 8000, hostname },
      ],
    },
  },
});

const forward = (...paths: string[]): Manifest => ({
  matches: paths.map((value) => ({ path: { type: "PathPrefix", value } })),
  backendRefs: [{ group: "", kind: "Service", name: "blog", port: 2368 }],
});
const redirect = (...paths: string[]): Manifest => ({
  matches: paths.map((value) => ({ path: { type: "PathPrefix", value } })),
  filters: [
    { type: "RequestRedirect", requestRedirect: { scheme: "https", hostname: "blog-admin.example.com" } },
  ],
});

const route = (options: { parents?: string[]; withheld?: string; rules: Manifest[] }): StackObject => ({
  project: "blog",
  object: {
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "HTTPRoute",
    metadata: {
      name: "blog",
      namespace: "blog",
      ...(options.withheld ? { annotations: { "homelab.infra/withheld-paths": options.withheld } } : {}),
    },
    spec: {
      parentRefs: (options.parents ?? ["blog"]).map((name) => ({
        kind: "Gateway",
        name,
        sectionName: "https",
      })),
      rules: options.rules,
    },
  },
});

/** A public blog whose admin (/ghost) is withheld from its public route and served on a private Gateway. */
function stack(overrides: { route?: StackObject; records?: StackDnsRecord[] } = {}) {
  const objects = [
    gatewayClass("public", "public-gateway"),
    gatewayClass("internal", "internal-gateway"),
    gateway("blog", "public", "blog.example.com"),
    gateway("blog-admin", "internal", "blog-admin.example.com"),
    overrides.route ?? route({ withheld: "/ghost", rules: [forward("/"), redirect("/ghost")] }),
  ];
  const records = overrides.records ?? [
    { project: "blog", name: "blog.example.com", proxied: true },
    { project: "blog", name: "blog-admin.example.com", proxied: false },
  ];
  return checkPublicExposure(objects, records).map((problem) => problem.message);
}

describe("the public exposure check", () => {
  it("accepts a public app whose record is proxied, whose route is on the public gateway only and whose admin paths are withheld", () => {
    assert.deepEqual(stack(), []);
  });

  it("finds the record of a hostname as DNS compares names: case-insensitive, with or without the root's dot", () => {
    assert.deepEqual(stack({ records: [{ project: "blog", name: "Blog.Example.com.", proxied: true }] }), []);
  });

  const failures: { name: string; overrides: Parameters<typeof stack>[0]; message: RegExp }[] = [
    {
      name: "a public hostname whose DNS record is not proxied",
      overrides: { records: [{ project: "blog", name: "blog.example.com", proxied: false }] },
      message: /Gateway blog\/blog: hostname blog.example.com: its DNS record is not proxied/,
    },
    {
      name: "a public hostname without a DNS record",
      overrides: { records: [] },
      message: /hostname blog.example.com: no DNS record/,
    },
    {
      name: "a public route also attached to the tailnet's gateway",
      overrides: {
        route: route({ parents: ["blog", "blog-admin"], rules: [forward("/")] }),
      },
      message: /HTTPRoute blog\/blog: spec.parentRefs: attached to a public Gateway and to blog\/blog-admin/,
    },
    {
      name: "a withheld path that the catch-all rule still forwards",
      overrides: { route: route({ withheld: "/ghost", rules: [forward("/")] }) },
      message:
        /\/ghost, \/ghost\/withheld-probe reach a backend, but the app keeps \/ghost off its public route/,
    },
    {
      name: "a rule forwarding a path below a withheld one, which wins over the redirect as the longer prefix",
      overrides: {
        route: route({
          withheld: "/ghost",
          rules: [forward("/"), redirect("/ghost"), forward("/ghost/api/admin")],
        }),
      },
      message: /spec.rules: \/ghost\/api\/admin reach a backend/,
    },
    {
      name: "a rule forwarding a path of a route that withholds everything",
      overrides: { route: route({ withheld: "/", rules: [redirect("/"), forward("/api")] }) },
      message: /spec.rules: \/api reach a backend, but the app keeps \/ off its public route/,
    },
    {
      name: "a withheld path forwarded by an exact match",
      overrides: {
        route: route({
          withheld: "/ghost",
          rules: [
            forward("/"),
            redirect("/ghost"),
            { ...forward(), matches: [{ path: { type: "Exact", value: "/ghost/" } }] },
          ],
        }),
      },
      message: /\/ghost\/ reach a backend/,
    },
  ];
  for (const failure of failures) {
    it(`fails ${failure.name}`, () => {
      const problems = stack(failure.overrides);
      assert.equal(problems.length, 1, problems.join("\n"));
      assert.match(problems[0] as string, failure.message);
    });
  }

  it("does not mistake a path that merely starts with the withheld one for it (Gateway API matches by path element)", () => {
    assert.deepEqual(
      stack({
        route: route({ withheld: "/ghost", rules: [forward("/"), redirect("/ghost"), forward("/ghosts")] }),
      }),
      [],
    );
  });
});
