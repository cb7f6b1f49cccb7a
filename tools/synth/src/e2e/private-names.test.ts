import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { before, describe, it } from "node:test";
import type { ResourceRecord } from "../run-program";
import { unwrapSecrets } from "../secrets";
import { type StackSynth, synth } from "../synth";
import { checkPrivateNames } from "../validate/private-names";
import { exampleStacks } from "./example-stacks";

const repoRoot = resolve(__dirname, "..", "..", "..", "..");

type Manifest = Record<string, any>;

/** A deep copy of the example stacks, for one edit that must be caught. */
function copyOf(results: StackSynth[]): StackSynth[] {
  return structuredClone(results);
}

function project(results: StackSynth[], stack: string, name: string) {
  const found = results
    .find((result) => result.stack === stack)
    ?.projects.find((run) => run.project === name);
  assert.ok(found, `${stack}/${name} was not synthesized`);
  return found;
}

function objects(results: StackSynth[], stack: string, name: string): ResourceRecord[] {
  return project(results, stack, name).resources;
}

/** The (unwrapped) inputs of a Kubernetes object of a project, edited in place through the returned object. */
function objectOf(
  results: StackSynth[],
  stack: string,
  name: string,
  kind: string,
  objectName: string,
): Manifest {
  const resource = objects(results, stack, name).find((candidate) => {
    const inputs = unwrapSecrets(candidate.inputs) as Manifest;
    return inputs.kind === kind && inputs.metadata?.name === objectName;
  });
  assert.ok(resource, `${stack}/${name} has no ${kind} ${objectName}`);
  resource.inputs = unwrapSecrets(resource.inputs) as Record<string, unknown>;
  return resource.inputs as Manifest;
}

function addCloudflareRecord(results: StackSynth[], stack: string, name: string, content: string): void {
  objects(results, stack, "ghost").push({
    urn: `urn:pulumi:${stack}::ghost::cloudflare:index/dnsRecord:DnsRecord::extra`,
    type: "cloudflare:index/dnsRecord:DnsRecord",
    name: "extra",
    dependsOn: [],
    custom: true,
    read: false,
    inputs: { zoneId: "0123456789abcdef0123456789abcdef", name, type: "A", content, proxied: false, ttl: 1 },
  });
}

describe("private names on the example stacks", () => {
  let results: StackSynth[];

  before(
    async () => {
      results = await synth({
        projectsDir: join(repoRoot, "pulumi", "projects"),
        workspaceRoots: [join(repoRoot, "pulumi")],
        stacks: [...exampleStacks],
      });
      for (const result of results) {
        assert.deepEqual(result.errors, [], `${result.stack} synthesized with errors`);
      }
    },
    { timeout: 600_000 },
  );

  it("publish no private name at Cloudflare, and use the wildcard certificate for every private listener", () => {
    assert.deepEqual(checkPrivateNames(results), []);
    // The check had something to look at: public records, and private names on every stack.
    const records = results.flatMap((result) =>
      result.projects.flatMap((run) =>
        run.resources
          .filter((resource) => resource.type === "cloudflare:index/dnsRecord:DnsRecord")
          .map((resource) => (unwrapSecrets(resource.inputs) as Manifest).name),
      ),
    );
    assert.deepEqual(records.sort(), ["auth.example.com", "blog.example.com", "n8n-hooks.example.com"]);
    for (const stack of exampleStacks) {
      const names = project(results, stack, "monitoring").outputs.serverPrivateNames?.value as {
        hostname: string;
      }[];
      assert.ok(names.some((name) => name.hostname === `status.${stack}.internal.example.com`));
    }
  });

  const breakages: { should: string; edit: (results: StackSynth[]) => void; problem: RegExp }[] = [
    {
      should: "a Cloudflare record of a private name",
      edit: (copy) => addCloudflareRecord(copy, "cloud-a", "vault.internal.example.com", "203.0.113.7"),
      problem:
        /cloud-a\/ghost: Cloudflare record vault\.internal\.example\.com lies in the private domain internal\.example\.com/,
    },
    {
      should: "a Cloudflare record of a private app's configured name outside the private domain",
      edit: (copy) => {
        const outputs = project(copy, "local-a", "syncthing").outputs;
        const names = outputs.privateNames?.value as { hostname: string; address: string }[];
        names.push({ hostname: "sync.example.com", address: "10.47.0.54" });
        addCloudflareRecord(copy, "cloud-a", "sync.example.com", "203.0.113.7");
      },
      problem:
        /cloud-a\/ghost: Cloudflare record sync\.example\.com publishes a private name \(exposed privately by local-a\/syncthing\)/,
    },
    {
      should: "a public record pointing at a tailnet-only address",
      edit: (copy) => addCloudflareRecord(copy, "cloud-a", "files.example.com", "10.43.0.53"),
      problem: /Cloudflare record files\.example\.com points at 10\.43\.0\.53, an address only the tailnet/,
    },
    {
      should: "a private listener with a certificate of its own",
      edit: (copy) => {
        const gateway = objectOf(copy, "cloud-a", "vaultwarden", "Gateway", "vaultwarden");
        gateway.spec.listeners[0].tls.certificateRefs = [
          { group: "", kind: "Secret", name: "vaultwarden-tls" },
        ];
      },
      problem:
        /cloud-a\/vaultwarden: Gateway vaultwarden\/vaultwarden: listener https uses Secret vaultwarden\/vaultwarden-tls, not the wildcard/,
    },
    {
      should: "a private listener without its ReferenceGrant",
      edit: (copy) => {
        const grant = objectOf(copy, "cloud-a", "vaultwarden", "ReferenceGrant", "vaultwarden");
        grant.spec.from[0].namespace = "etebase";
      },
      problem:
        /listener https: no ReferenceGrant in internal-gateway-tls lets Gateways of vaultwarden use Secret private-wildcard-tls/,
    },
    {
      should: "a private name two labels deep, which no wildcard covers",
      edit: (copy) => {
        const gateway = objectOf(copy, "cloud-a", "vaultwarden", "Gateway", "vaultwarden");
        gateway.spec.listeners[0].hostname = "vault.home.internal.example.com";
      },
      problem:
        /no name of the wildcard certificate \(\*\.internal\.example\.com, \*\.cloud-a\.internal\.example\.com\) covers vault\.home\.internal\.example\.com/,
    },
    {
      should: "a Certificate listing a private name (Certificate Transparency logs are public)",
      edit: (copy) => {
        const certificate = objectOf(copy, "cloud-a", "ghost", "Certificate", "ghost");
        certificate.spec.dnsNames.push("blog-admin.internal.example.com");
      },
      problem:
        /cloud-a\/ghost: Certificate ghost\/ghost lists the private name blog-admin\.internal\.example\.com/,
    },
    {
      should: "a private exposure whose name no stack holds for the private DNS",
      edit: (copy) => {
        const outputs = project(copy, "cloud-a", "vaultwarden").outputs;
        outputs.privateNames = { value: [], secret: false };
      },
      problem:
        /cloud-a\/vaultwarden: the private hostname vault\.internal\.example\.com is in no stack's privateNames/,
    },
  ];
  for (const { should, edit, problem } of breakages) {
    it(`catch ${should}`, () => {
      const copy = copyOf(results);
      edit(copy);
      const problems = checkPrivateNames(copy);
      assert.ok(
        problems.some((found) => problem.test(found)),
        `expected a problem matching ${problem}, got:\n${problems.join("\n")}`,
      );
    });
  }
});
