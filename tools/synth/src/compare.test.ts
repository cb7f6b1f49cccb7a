import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Change,
  compareProject,
  compareSnapshots,
  diffFields,
  formatDiffs,
  newOpenPaths,
  type ProjectFiles,
  type WrittenResource,
} from "./compare";

const provider = "urn:pulumi:cloud-a::notes::pulumi:providers:kubernetes::server";

// The API version and Pulumi type token of each kind the cases use.
const kinds: Record<string, [string, string]> = {
  PersistentVolumeClaim: ["v1", "core/v1"],
  Secret: ["v1", "core/v1"],
  StatefulSet: ["apps/v1", "apps/v1"],
  CronJob: ["batch/v1", "batch/v1"],
  Deployment: ["apps/v1", "apps/v1"],
  CiliumNetworkPolicy: ["cilium.io/v2", "cilium.io/v2"],
};

function object(kind: string, name: string, body: Record<string, unknown>): WrittenResource {
  const [apiVersion, group] = kinds[kind] ?? ["v1", "core/v1"];
  return {
    type: `kubernetes:${group}:${kind}`,
    name: `notes/${name}`,
    urn: `urn:pulumi:cloud-a::notes::kubernetes:${group}:${kind}::notes/${name}`,
    dependsOn: [],
    read: false,
    inputs: { apiVersion, kind, metadata: { name, namespace: "notes" }, ...body },
  };
}

const pvc = (storage: string, storageClassName = "local-path") =>
  object("PersistentVolumeClaim", "data", {
    spec: { accessModes: ["ReadWriteOnce"], storageClassName, resources: { requests: { storage } } },
  });
const statefulSet = (replicas: number, template: string) =>
  object("StatefulSet", "db", {
    spec: {
      replicas,
      serviceName: "db",
      selector: { matchLabels: { app: "db" } },
      template: { spec: { containers: [{ name: "db", image: "postgres:17" }] } },
      volumeClaimTemplates: [
        { metadata: { name: "data" }, spec: { resources: { requests: { storage: template } } } },
      ],
    },
  });
const policy = (ports: string[]) =>
  object("CiliumNetworkPolicy", "web-ingress", {
    spec: {
      endpointSelector: { matchLabels: { app: "web" } },
      ingress: ports.map((port) => ({
        fromEntities: ["cluster"],
        toPorts: [{ ports: [{ port, protocol: "TCP" }] }],
      })),
    },
  });
const backupJob = object("CronJob", "notes-backup", { spec: { schedule: "30 3 * * *" } });
const password = (length: number, name = "notes-db-password"): WrittenResource => ({
  type: "random:index/randomPassword:RandomPassword",
  name,
  urn: `urn:pulumi:cloud-a::notes::random:index/randomPassword:RandomPassword::${name}`,
  dependsOn: [],
  inputs: { length, special: false },
});
const secret = (): WrittenResource => ({
  ...object("Secret", "db", { stringData: { password: "[secret]" } }),
  dependsOn: [password(32).urn],
});
const backups = [{ app: "notes", repository: "rclone:storage:backups/notes", schedule: "30 3 * * *" }];

const files = (resources: WrittenResource[], outputs: Record<string, unknown> = {}): ProjectFiles => ({
  resources: [
    { type: "pulumi:providers:kubernetes", name: "server", urn: provider, inputs: { context: "cloud-a" } },
    ...resources,
  ],
  outputs,
});

// Each case: a known change, the objects it shows, their changed fields and the risks flagged.
const cases: {
  name: string;
  before: ProjectFiles;
  after: ProjectFiles;
  expected: Omit<Change, "fields">[];
  fields?: string[][];
}[] = [
  { name: "nothing changed", before: files([pvc("1Gi")]), after: files([pvc("1Gi")]), expected: [] },
  {
    name: "a PVC grows (updated in place)",
    before: files([pvc("1Gi")]),
    after: files([pvc("2Gi")]),
    expected: [{ change: "changed", object: "PersistentVolumeClaim notes/data", risks: [] }],
    fields: [["spec.resources.requests.storage"]],
  },
  {
    name: "a PVC's storage class changes (replaced)",
    before: files([pvc("1Gi")]),
    after: files([pvc("1Gi", "fast")]),
    expected: [
      {
        change: "changed",
        object: "PersistentVolumeClaim notes/data",
        risks: ["PersistentVolumeClaim replaced (spec.storageClassName): a new, empty volume"],
      },
    ],
    fields: [["spec.storageClassName"]],
  },
  {
    name: "a PVC shrinks",
    before: files([pvc("2Gi")]),
    after: files([pvc("1Gi")]),
    expected: [
      {
        change: "changed",
        object: "PersistentVolumeClaim notes/data",
        risks: ["PersistentVolumeClaim shrinks: Kubernetes refuses it (volumes only grow)"],
      },
    ],
  },
  {
    name: "a PVC is removed",
    before: files([pvc("1Gi")]),
    after: files([]),
    expected: [
      {
        change: "removed",
        object: "PersistentVolumeClaim notes/data",
        risks: ["PersistentVolumeClaim removed: its volume and data are deleted"],
      },
    ],
  },
  {
    name: "a PVC gets another Pulumi name (replaced)",
    before: files([pvc("1Gi")]),
    after: files([{ ...pvc("1Gi"), urn: `${pvc("1Gi").urn}-renamed` }]),
    expected: [
      {
        change: "changed",
        object: "PersistentVolumeClaim notes/data",
        risks: ["PersistentVolumeClaim replaced (its Pulumi URN changed): a new, empty volume"],
      },
    ],
  },
  {
    name: "a StatefulSet scales and changes its image (updated in place)",
    before: files([statefulSet(1, "1Gi")]),
    after: files([
      (() => {
        const changed = statefulSet(2, "1Gi");
        changed.inputs.spec.template.spec.containers[0].image = "postgres:18";
        return changed;
      })(),
    ]),
    expected: [{ change: "changed", object: "StatefulSet notes/db", risks: [] }],
    fields: [["spec.replicas", "spec.template.spec.containers[name=db].image"]],
  },
  {
    name: "a StatefulSet's volume claim template changes (replaced)",
    before: files([statefulSet(1, "1Gi")]),
    after: files([statefulSet(1, "2Gi")]),
    expected: [
      {
        change: "changed",
        object: "StatefulSet notes/db",
        risks: [
          "StatefulSet replaced (spec.volumeClaimTemplates[0].spec.resources.requests.storage): its pods are deleted first",
        ],
      },
    ],
  },
  {
    name: "a backup CronJob and the backups output entry are removed",
    before: files([backupJob], { backups }),
    after: files([], { backups: [] }),
    expected: [
      {
        change: "removed",
        object: "CronJob notes/notes-backup",
        risks: ["backup removed: this CronJob no longer takes backups"],
      },
      {
        change: "changed",
        object: "output backups",
        risks: ["backup removed: notes to rclone:storage:backups/notes is no longer backed up"],
      },
    ],
  },
  {
    name: "a policy gets a new rule (widened)",
    before: files([policy(["80"])]),
    after: files([policy(["80", "5432"])]),
    expected: [
      {
        change: "changed",
        object: "CiliumNetworkPolicy notes/web-ingress",
        risks: [
          'policy widened: new rule ingress {"fromEntities":["cluster"],"toPorts":[{"ports":[{"port":"5432","protocol":"TCP"}]}]}',
        ],
      },
    ],
  },
  {
    name: "a policy loses a rule (narrowed: not risky)",
    before: files([policy(["80", "5432"])]),
    after: files([policy(["80"])]),
    expected: [{ change: "changed", object: "CiliumNetworkPolicy notes/web-ingress", risks: [] }],
  },
  {
    name: "a generated password's length changes (generated anew)",
    before: files([password(32), secret()]),
    after: files([password(40), secret()]),
    expected: [
      {
        change: "changed",
        object: "random:index/randomPassword:RandomPassword notes-db-password",
        risks: ["generated secret generated anew: Secret notes/db get a new value"],
      },
    ],
    fields: [["length"]],
  },
  {
    name: "a Secret is filled from another generated password",
    before: files([password(32), secret()]),
    after: files([
      password(32),
      { ...secret(), dependsOn: [password(32, "other").urn] },
      password(32, "other"),
    ]),
    expected: [
      {
        change: "changed",
        object: "Secret notes/db",
        risks: ["generated secret changed: the Secret now holds other generated values"],
      },
      { change: "added", object: "random:index/randomPassword:RandomPassword other", risks: [] },
    ],
    fields: [["(generated secrets it holds)"], []],
  },
  {
    name: "a generated password is renamed (replaced)",
    before: files([password(32)]),
    after: files([password(32, "notes-database-password")]),
    expected: [
      {
        change: "removed",
        object: "random:index/randomPassword:RandomPassword notes-db-password",
        risks: ["generated secret replaced or removed: whatever uses it gets a new value"],
      },
      {
        change: "added",
        object: "random:index/randomPassword:RandomPassword notes-database-password",
        risks: [],
      },
    ],
  },
];

describe("compareProject", () => {
  for (const { name, before, after, expected, fields } of cases) {
    it(name, () => {
      const changes = compareProject(before, after);
      assert.deepEqual(
        changes.map(({ change, object, risks }) => ({ change, object, risks })),
        expected,
      );
      if (fields)
        assert.deepEqual(
          changes.map((change) => change.fields.map((field) => field.path)),
          fields,
        );
    });
  }

  it("keeps redacted values redacted", () => {
    const was = object("Secret", "token", { stringData: { token: "[secret]" } });
    const is = object("Secret", "token", { stringData: { token: "[secret]", extra: "[secret]" } });
    const [change] = compareProject(files([was]), files([is]));
    assert.deepEqual(change?.fields, [{ path: "stringData.extra", after: "[secret]" }]);
  });
});

describe("diffFields", () => {
  const table: [unknown, unknown, ReturnType<typeof diffFields>][] = [
    [{ a: 1 }, { a: 1 }, []],
    [{ a: 1 }, { a: 2 }, [{ path: "a", before: 1, after: 2 }]],
    [{ a: { b: [1, 2] } }, { a: { b: [1] } }, [{ path: "a.b[1]", before: 2 }]],
    [
      {
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "2" },
        ],
      },
      {
        env: [
          { name: "B", value: "3" },
          { name: "A", value: "1" },
        ],
      },
      [{ path: "env[name=B].value", before: "2", after: "3" }],
    ],
    [{}, { c: true }, [{ path: "c", after: true }]],
  ];
  for (const [before, after, expected] of table) {
    it(`${JSON.stringify(before)} → ${JSON.stringify(after)}`, () =>
      assert.deepEqual(diffFields(before, after), expected));
  }
});

describe("formatDiffs", () => {
  it("prints per project the objects with their fields and risks, then a summary", () => {
    const before = new Map([["cloud-a", new Map([["notes", files([pvc("1Gi", "a"), backupJob])]])]]);
    const after = new Map([["cloud-a", new Map([["notes", files([pvc("1Gi", "b")])]])]]);
    const { lines, risky } = formatDiffs(compareSnapshots(before, after), "previous");
    assert.deepEqual(lines, [
      "cloud-a/notes: 0 added, 1 removed, 1 changed",
      "  - CronJob notes/notes-backup",
      "      ⚠ backup removed: this CronJob no longer takes backups",
      "  ~ PersistentVolumeClaim notes/data",
      '      spec.storageClassName: "a" → "b"',
      "      ⚠ PersistentVolumeClaim replaced (spec.storageClassName): a new, empty volume",
      "compared with previous: 2 change(s) in 1 project(s), 2 risky",
    ]);
    assert.equal(risky, 2);
  });

  it("says when nothing changed, and compares only the projects synthesized again", () => {
    const before = new Map([
      [
        "cloud-a",
        new Map([
          ["notes", files([pvc("1Gi")])],
          ["other", files([backupJob])],
        ]),
      ],
    ]);
    const after = new Map([["cloud-a", new Map([["notes", files([pvc("1Gi")])]])]]);
    assert.deepEqual(formatDiffs(compareSnapshots(before, after, ["notes"]), "out").lines, [
      "compared with out: no changes",
    ]);
    assert.equal(compareSnapshots(before, after)[0]?.project, "other");
  });
});

describe("newOpenPaths", () => {
  const namespaced = (kind: string, namespace: string, name: string, body: Record<string, unknown>) => {
    const resource = object(kind, name, body);
    resource.inputs.metadata.namespace = namespace;
    resource.urn = `${resource.urn}-${namespace}`;
    return resource;
  };
  const deployment = (namespace: string, port?: number) =>
    namespaced("Deployment", namespace, namespace, {
      apiVersion: "apps/v1",
      spec: {
        selector: { matchLabels: { app: namespace } },
        template: {
          metadata: { labels: { app: namespace } },
          spec: {
            containers: [
              { name: namespace, image: "x", ...(port ? { ports: [{ containerPort: port }] } : {}) },
            ],
          },
        },
      },
    });
  const allow = (namespace: string, direction: "ingress" | "egress", peer: string) =>
    namespaced("CiliumNetworkPolicy", namespace, `${namespace}-${direction}`, {
      spec: {
        endpointSelector: { matchLabels: { app: namespace } },
        [direction]: [
          {
            [direction === "ingress" ? "fromEndpoints" : "toEndpoints"]: [
              { matchLabels: { app: peer, "k8s:io.kubernetes.pod.namespace": peer } },
            ],
            toPorts: [{ ports: [{ port: "5432", protocol: "TCP" }] }],
          },
        ],
      },
    });
  const stack = (resources: WrittenResource[]) => new Map([["apps", files(resources)]]);

  it("names the paths between namespaces a change opens, with their ports", () => {
    const pods = [deployment("web"), deployment("db", 5432)];
    const opened = newOpenPaths(
      stack(pods),
      stack([...pods, allow("db", "ingress", "web"), allow("web", "egress", "db")]),
    );
    assert.deepEqual(
      opened.map(({ object, risks }) => ({ object, risks })),
      [{ object: "open path web → db", risks: ["policy widened: web → db is now open on 5432/TCP"] }],
    );
  });

  it("says nothing when a change opens nothing (half a path: the receiver still refuses)", () => {
    const pods = [deployment("web"), deployment("db", 5432)];
    assert.deepEqual(newOpenPaths(stack(pods), stack([...pods, allow("web", "egress", "db")])), []);
  });
});
