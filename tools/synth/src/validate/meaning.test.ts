import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStack } from "./index";
import { helmProvidedObjects } from "./meaning";
import { objectRecord, problemsWith, projectOf, type TestStackParts, testStack } from "./test-stack";

type Edit = (parts: TestStackParts) => void;

/** The web Deployment's pod spec and its one container. */
function pod(parts: TestStackParts): Record<string, any> {
  return parts.app.deployment.spec.template.spec;
}
function container(parts: TestStackParts): Record<string, any> {
  return pod(parts).containers[0];
}

const deployment = "test/app: Deployment web/web";

describe("checking that selectors select", () => {
  it("rejects a workload whose selector does not match its pod labels", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.deployment.spec.template.metadata.labels["app.kubernetes.io/name"] = "website";
      // The Service and policy follow the pods, so only the workload's own selector is wrong.
      parts.app.service.spec.selector["app.kubernetes.io/name"] = "website";
    });
    assert.deepEqual(problems, [
      `${deployment}: spec.selector.matchLabels: does not match the pod template's labels`,
    ]);
  });

  it("rejects a Service whose selector selects no workload's pods", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.service.spec.selector = { "app.kubernetes.io/name": "api" };
    });
    assert.deepEqual(problems, [
      "test/app: Service web/web: spec.selector: selects no workload's pods in its namespace",
    ]);
  });

  it("rejects a Service that selects pods only in another namespace", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.service.metadata.namespace = "default";
    });
    assert.deepEqual(problems, [
      "test/app: Service default/web: spec.selector: selects no workload's pods in its namespace",
    ]);
  });

  it("rejects a Service targetPort name that no selected container has", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.service.spec.ports[0].targetPort = "https";
    });
    assert.deepEqual(problems, [
      'test/app: Service web/web: spec.ports[0].targetPort: no selected container has a port named "https"',
    ]);
  });
});

describe("checking that a pod's mounts and references resolve", () => {
  it("rejects a volumeMount of a volume the pod does not declare", async () => {
    const problems = await problemsWith((parts) => {
      container(parts).volumeMounts.push({ name: "cache", mountPath: "/var/cache/web" });
    });
    assert.deepEqual(problems, [
      `${deployment}: spec.template.spec.containers[0].volumeMounts[3].name: volume "cache" is not declared in the pod`,
    ]);
  });

  const missingReferences: [string, Edit, string][] = [
    [
      "a ConfigMap volume",
      (parts) => {
        pod(parts).volumes[0].configMap.name = "web-settings";
      },
      'spec.template.spec.volumes[config]: ConfigMap "web-settings" does not exist in the namespace',
    ],
    [
      "a ConfigMap env valueFrom",
      (parts) => {
        container(parts).env[1].valueFrom.configMapKeyRef.name = "web-settings";
      },
      'spec.template.spec.containers[0].env[MODE]: ConfigMap "web-settings" does not exist in the namespace',
    ],
    [
      "a ConfigMap envFrom",
      (parts) => {
        container(parts).envFrom[0].configMapRef.name = "web-settings";
      },
      'spec.template.spec.containers[0].envFrom[0]: ConfigMap "web-settings" does not exist in the namespace',
    ],
    [
      "a Secret volume",
      (parts) => {
        pod(parts).volumes[1].secret.secretName = "web-credentials";
      },
      'spec.template.spec.volumes[secrets]: Secret "web-credentials" does not exist in the namespace',
    ],
    [
      "a Secret env valueFrom",
      (parts) => {
        container(parts).env[0].valueFrom.secretKeyRef.name = "web-credentials";
      },
      'spec.template.spec.containers[0].env[PASSWORD]: Secret "web-credentials" does not exist in the namespace',
    ],
    [
      "a Secret envFrom",
      (parts) => {
        container(parts).envFrom[1].secretRef.name = "web-credentials";
      },
      'spec.template.spec.containers[0].envFrom[1]: Secret "web-credentials" does not exist in the namespace',
    ],
    [
      "a PersistentVolumeClaim volume",
      (parts) => {
        pod(parts).volumes[2].persistentVolumeClaim.claimName = "web-storage";
      },
      'spec.template.spec.volumes[data]: PersistentVolumeClaim "web-storage" does not exist in the namespace',
    ],
    [
      "a serviceAccountName",
      (parts) => {
        pod(parts).serviceAccountName = "web-runner";
      },
      'spec.template.spec.serviceAccountName: ServiceAccount "web-runner" does not exist in the namespace',
    ],
  ];
  for (const [reference, edit, problem] of missingReferences) {
    it(`rejects ${reference} naming an object the namespace lacks`, async () => {
      assert.deepEqual(await problemsWith(edit), [`${deployment}: ${problem}`]);
    });
  }

  it("rejects a reference to an object that exists only in another namespace", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.configMap.metadata.namespace = "default";
    });
    assert.deepEqual(problems, [
      `${deployment}: spec.template.spec.volumes[config]: ConfigMap "web-config" does not exist in the namespace`,
      `${deployment}: spec.template.spec.containers[0].env[MODE]: ConfigMap "web-config" does not exist in the namespace`,
      `${deployment}: spec.template.spec.containers[0].envFrom[0]: ConfigMap "web-config" does not exist in the namespace`,
    ]);
  });

  it("accepts a missing object that the reference marks optional", async () => {
    const problems = await problemsWith((parts) => {
      pod(parts).volumes[0].configMap = { name: "web-overrides", optional: true };
    });
    assert.deepEqual(problems, []);
  });

  it("checks the pods of a CronJob too", async () => {
    const problems = await problemsWith((parts) => {
      parts.extra.push({
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "backup", namespace: "web" },
        spec: {
          schedule: "0 3 * * *",
          jobTemplate: {
            spec: {
              template: {
                spec: {
                  restartPolicy: "OnFailure",
                  containers: [
                    {
                      name: "backup",
                      image: "restic/restic:0.18.0",
                      envFrom: [{ secretRef: { name: "backup" } }],
                    },
                  ],
                },
              },
            },
          },
        },
      });
    });
    assert.deepEqual(problems, [
      'test/app: CronJob web/backup: spec.jobTemplate.spec.template.spec.containers[0].envFrom[0]: Secret "backup" does not exist in the namespace',
    ]);
  });
});

describe("objects a Helm release creates", () => {
  /** Documents, for the duration of `body`, that the cilium chart creates ConfigMap cilium-config. */
  async function withCiliumConfigDocumented<T>(body: () => Promise<T>): Promise<T> {
    const previous = helmProvidedObjects.cilium;
    helmProvidedObjects.cilium = [{ kind: "ConfigMap", name: "cilium-config" }];
    try {
      return await body();
    } finally {
      if (previous) helmProvidedObjects.cilium = previous;
      else delete helmProvidedObjects.cilium;
    }
  }

  /** A pod in `namespace` that reads cilium's agent config. */
  function readsCiliumConfig(namespace: string): Edit {
    return (parts) => {
      parts.extra.push({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "cilium-watcher", namespace },
        spec: {
          selector: { matchLabels: { app: "cilium-watcher" } },
          template: {
            metadata: { labels: { app: "cilium-watcher" } },
            spec: {
              containers: [
                {
                  name: "watcher",
                  image: "busybox:1.37",
                  envFrom: [{ configMapRef: { name: "cilium-config" } }],
                },
              ],
            },
          },
        },
      });
    };
  }

  it("accepts a reference to an object the release's chart is documented to create", async () => {
    const problems = await withCiliumConfigDocumented(() => problemsWith(readsCiliumConfig("kube-system")));
    assert.deepEqual(problems, []);
  });

  it("rejects the same reference while the chart does not document the object", async () => {
    // Without the documentation the reference above is unknown: the acceptance comes from it.
    const problems = await problemsWith(readsCiliumConfig("kube-system"));
    assert.deepEqual(problems, [
      'test/app: Deployment kube-system/cilium-watcher: spec.template.spec.containers[0].envFrom[0]: ConfigMap "cilium-config" does not exist in the namespace',
    ]);
  });

  it("counts a documented object only in the release's namespace", async () => {
    const problems = await withCiliumConfigDocumented(() => problemsWith(readsCiliumConfig("web")));
    assert.deepEqual(problems, [
      'test/app: Deployment web/cilium-watcher: spec.template.spec.containers[0].envFrom[0]: ConfigMap "cilium-config" does not exist in the namespace',
    ]);
  });
});

describe("checking that namespaces exist", () => {
  it("rejects an object in a namespace the stack neither creates nor reads", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.policy.metadata.namespace = "staging";
    });
    assert.deepEqual(problems, [
      'test/app: CiliumNetworkPolicy staging/web-from-gateway: metadata.namespace: namespace "staging" is neither created nor read by this stack',
    ]);
  });

  it("accepts an object in a namespace the stack reads", async () => {
    const stack = testStack((parts) => {
      parts.app.policy.metadata.namespace = "media";
    });
    const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "media" } };
    projectOf(stack, "app").resources.push(objectRecord("app", namespace, { read: true }));
    assert.deepEqual(await validateStack(stack), []);
  });

  it("accepts an object in a namespace another project of the stack creates", async () => {
    const stack = testStack();
    const app = projectOf(stack, "app");
    const namespaceRecord = app.resources.find(
      (resource) => resource.type === "kubernetes:core/v1:Namespace",
    );
    assert.ok(namespaceRecord);
    app.resources.splice(app.resources.indexOf(namespaceRecord), 1);
    projectOf(stack, "cilium").resources.push(namespaceRecord);
    assert.deepEqual(await validateStack(stack), []);
  });
});

describe("checking RBAC bindings", () => {
  it("rejects a RoleBinding to a Role that does not exist", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.roleBinding.roleRef.name = "web-writer";
    });
    assert.deepEqual(problems, [
      'test/app: RoleBinding web/web-reader: roleRef: Role "web-writer" does not exist',
    ]);
  });

  it("rejects a RoleBinding to a Role of another namespace", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.role.metadata.namespace = "default";
    });
    assert.deepEqual(problems, [
      'test/app: RoleBinding web/web-reader: roleRef: Role "web-reader" does not exist',
    ]);
  });

  it("rejects a RoleBinding subject that is a missing ServiceAccount", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.roleBinding.subjects[0].name = "web-runner";
    });
    assert.deepEqual(problems, [
      'test/app: RoleBinding web/web-reader: subjects[0]: ServiceAccount "web/web-runner" does not exist',
    ]);
  });

  it("accepts a RoleBinding to a cluster role every cluster has", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.roleBinding.roleRef = {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "view",
      };
    });
    assert.deepEqual(problems, []);
  });
});
