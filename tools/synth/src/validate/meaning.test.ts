import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStack } from "./index";
import { checkMeaning, helmProvidedObjects, type StackObject, type StackRelease } from "./meaning";
import {
  objectRecord,
  problemsWith,
  projectOf,
  type ReleaseInputs,
  releaseRecord,
  type TestStackParts,
  testStack,
} from "./test-stack";

type Edit = (parts: TestStackParts) => void;

/** The web Deployment's pod spec and its one container. */
function pod(parts: TestStackParts): Record<string, any> {
  return parts.app.deployment.spec.template.spec;
}
function container(parts: TestStackParts): Record<string, any> {
  return pod(parts).containers[0];
}

const deployment = "test/app: Deployment web/web";

/** A container's resources with a memory limit, for containers the tests add. */
const resources = { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } };
/** The labels of a namespace that enforces Pod Security `restricted`. */
const restrictedLabels = { "pod-security.kubernetes.io/enforce": "restricted" };

describe("the valid test stack", () => {
  it("has no problem of meaning", async () => {
    assert.deepEqual(await problemsWith(), []);
  });
});

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
      // The route follows the Service, so only the Service's selector is wrong.
      parts.app.route.spec.rules[0].backendRefs[0].namespace = "default";
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

  const missingKeys: [string, Edit, string][] = [
    [
      "a Secret env valueFrom",
      (parts) => {
        container(parts).env[0].valueFrom.secretKeyRef.key = "pasword";
      },
      'spec.template.spec.containers[0].env[PASSWORD]: Secret "web-secrets" has no key "pasword" (it has password, username)',
    ],
    [
      "a ConfigMap env valueFrom",
      (parts) => {
        container(parts).env[1].valueFrom.configMapKeyRef.key = "mdoe";
      },
      'spec.template.spec.containers[0].env[MODE]: ConfigMap "web-config" has no key "mdoe" (it has mode)',
    ],
    [
      "a ConfigMap volume item",
      (parts) => {
        pod(parts).volumes[0].configMap.items[0].key = "modes";
      },
      'spec.template.spec.volumes[config]: ConfigMap "web-config" has no key "modes" (it has mode)',
    ],
    [
      "a Secret volume item",
      (parts) => {
        pod(parts).volumes[1].secret.items = [{ key: "token", path: "token" }];
      },
      'spec.template.spec.volumes[secrets]: Secret "web-secrets" has no key "token" (it has password, username)',
    ],
    [
      "an init container's Secret env valueFrom",
      (parts) => {
        pod(parts).initContainers = [
          {
            name: "wait",
            image: "busybox:1.37",
            env: [{ name: "USER", valueFrom: { secretKeyRef: { name: "web-secrets", key: "user" } } }],
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
            resources,
          },
        ];
      },
      'spec.template.spec.initContainers[0].env[USER]: Secret "web-secrets" has no key "user" (it has password, username)',
    ],
  ];
  for (const [reference, edit, problem] of missingKeys) {
    it(`rejects ${reference} naming a key its object lacks`, async () => {
      assert.deepEqual(await problemsWith(edit), [`${deployment}: ${problem}`]);
    });
  }

  const keysElsewhere: [string, Edit][] = [
    [
      "a Secret holds in data",
      (parts) => {
        parts.app.secret.data = { token: "dG9rZW4=" };
        container(parts).env[0].valueFrom.secretKeyRef.key = "token";
      },
    ],
    [
      "a ConfigMap holds in binaryData",
      (parts) => {
        parts.app.configMap.binaryData = { "logo.png": "iVBORw0KGgo=" };
        pod(parts).volumes[0].configMap.items[0].key = "logo.png";
      },
    ],
  ];
  for (const [where, edit] of keysElsewhere) {
    it(`accepts a key ${where}`, async () => {
      assert.deepEqual(await problemsWith(edit), []);
    });
  }

  it("accepts a missing key that the reference marks optional", async () => {
    const problems = await problemsWith((parts) => {
      container(parts).env[0].valueFrom.secretKeyRef = {
        name: "web-secrets",
        key: "pasword",
        optional: true,
      };
    });
    assert.deepEqual(problems, []);
  });

  it("accepts any key of an object the stack only reads, whose keys it cannot know", () => {
    const reader = {
      kind: "Deployment",
      metadata: { name: "reader", namespace: "web" },
      spec: {
        selector: { matchLabels: { app: "reader" } },
        template: {
          metadata: { labels: { app: "reader" } },
          spec: {
            containers: [
              {
                name: "reader",
                env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "issued", key: "token" } } }],
                resources,
              },
            ],
          },
        },
      },
    };
    const existing = new Set(["Namespace//web", "Secret/web/issued"]);
    assert.deepEqual(checkMeaning([{ project: "app", object: reader }], existing, []), []);
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
                  securityContext: {
                    runAsNonRoot: true,
                    runAsUser: 1000,
                    seccompProfile: { type: "RuntimeDefault" },
                  },
                  containers: [
                    {
                      name: "backup",
                      image: "restic/restic:0.18.0",
                      envFrom: [{ secretRef: { name: "backup" } }],
                      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                      resources,
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
  /**
   * Documents, for the duration of `body`, that the cilium chart creates ConfigMap cilium-config,
   * with the given keys if any.
   */
  async function withCiliumConfigDocumented<T>(body: () => Promise<T>, keys?: string[]): Promise<T> {
    const previous = helmProvidedObjects.cilium;
    const source = { version: "1.19.4", template: "templates/cilium-configmap.yaml" };
    helmProvidedObjects.cilium = [
      { kind: "ConfigMap", name: "cilium-config", ...(keys ? { keys } : {}), source },
    ];
    try {
      return await body();
    } finally {
      if (previous) helmProvidedObjects.cilium = previous;
      else delete helmProvidedObjects.cilium;
    }
  }

  /** A pod in `namespace` whose container reads cilium's agent config: all of it, or as `reads` says. */
  function readsCiliumConfig(
    namespace: string,
    reads: Record<string, any> = { envFrom: [{ configMapRef: { name: "cilium-config" } }] },
  ): Edit {
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
              securityContext: {
                runAsNonRoot: true,
                runAsUser: 1000,
                seccompProfile: { type: "RuntimeDefault" },
              },
              containers: [
                {
                  name: "watcher",
                  image: "busybox:1.37",
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                  resources,
                  ...reads,
                },
              ],
            },
          },
        },
      });
    };
  }

  /** Container fields that read key `key` of cilium-config into CLUSTER. */
  const readsCiliumConfigKey = (key: string) => ({
    env: [{ name: "CLUSTER", valueFrom: { configMapKeyRef: { name: "cilium-config", key } } }],
  });

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

  it("rejects a key missing from the keys the chart is documented to create", async () => {
    const problems = await withCiliumConfigDocumented(
      () => problemsWith(readsCiliumConfig("kube-system", readsCiliumConfigKey("cluster-nmae"))),
      ["cluster-name", "cluster-id"],
    );
    assert.deepEqual(problems, [
      'test/app: Deployment kube-system/cilium-watcher: spec.template.spec.containers[0].env[CLUSTER]: ConfigMap "cilium-config" has no key "cluster-nmae" (it has cluster-id, cluster-name, per chart cilium 1.19.4, templates/cilium-configmap.yaml)',
    ]);
  });

  it("accepts any key of a chart's object whose keys are not documented", async () => {
    const problems = await withCiliumConfigDocumented(() =>
      problemsWith(readsCiliumConfig("kube-system", readsCiliumConfigKey("cluster-nmae"))),
    );
    assert.deepEqual(problems, []);
  });
});

describe("checking that routes reach a Service port", () => {
  /** The web route's one backend. */
  function backend(parts: TestStackParts): Record<string, any> {
    return parts.app.route.spec.rules[0].backendRefs[0];
  }

  const brokenBackends: [string, Edit, string][] = [
    [
      "a port its Service lacks",
      (parts) => {
        backend(parts).port = 8080;
      },
      'test/app: HTTPRoute web/web: spec.rules[0].backendRefs[0]: Service "web" has no port 8080 (it has 80)',
    ],
    [
      "a Service the stack does not create",
      (parts) => {
        backend(parts).name = "wbe";
      },
      'test/app: HTTPRoute web/web: spec.rules[0].backendRefs[0]: names Service "wbe", which this stack does not create',
    ],
    [
      "a Service without a port",
      (parts) => {
        delete backend(parts).port;
      },
      'test/app: HTTPRoute web/web: spec.rules[0].backendRefs[0]: names Service "web" without a port',
    ],
    [
      "a Service of another namespace without naming that namespace",
      (parts) => {
        parts.app.route.metadata.namespace = "default";
      },
      'test/app: HTTPRoute default/web: spec.rules[0].backendRefs[0]: names Service "web", which this stack does not create',
    ],
    [
      "a Service of a namespace where it does not exist",
      (parts) => {
        backend(parts).namespace = "default";
      },
      'test/app: HTTPRoute web/web: spec.rules[0].backendRefs[0]: names Service "default/web", which this stack does not create',
    ],
  ];
  for (const [target, edit, problem] of brokenBackends) {
    it(`rejects a backendRef to ${target}`, async () => {
      assert.deepEqual(await problemsWith(edit), [problem]);
    });
  }

  it("finds a backendRef's Service in the namespace the backendRef names", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.route.metadata.namespace = "default";
      backend(parts).namespace = "web";
    });
    assert.deepEqual(problems, []);
  });

  it("leaves a backendRef to something other than a Service to its controller", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.route.spec.rules[0].backendRefs[0] = {
        group: "gateway.envoyproxy.io",
        kind: "Backend",
        name: "web-external",
      };
    });
    assert.deepEqual(problems, []);
  });

  /** The kubernetes-dashboard release with `values`, and a route to its kong proxy's `port`. */
  function routeToDashboard(port: number, values: Record<string, any>): Promise<string[]> {
    const namespace = "kubernetes-dashboard";
    const stack = testStack((parts) => {
      parts.extra.push(
        { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: restrictedLabels } },
        {
          apiVersion: "gateway.networking.k8s.io/v1",
          kind: "HTTPRoute",
          metadata: { name: "kubernetes-dashboard", namespace },
          spec: {
            parentRefs: [{ name: "web", namespace: "web", sectionName: "http" }],
            rules: [{ backendRefs: [{ name: "kubernetes-dashboard-kong-proxy", port }] }],
          },
        },
      );
    });
    const release: ReleaseInputs = {
      chart: "kubernetes-dashboard",
      version: "7.13.0",
      name: "kubernetes-dashboard",
      namespace,
      repositoryOpts: { repo: "https://kubernetes.github.io/dashboard" },
      values: { ...values, kong: { ...values.kong, resources } },
    };
    projectOf(stack, "app").resources.push(releaseRecord("app", release));
    return validateStack(stack);
  }

  const plainHttp = {
    kong: { proxy: { http: { enabled: true, servicePort: 8000 }, tls: { enabled: false } } },
  };
  const source =
    "per chart kubernetes-dashboard 7.13.0, the kong subchart's templates/service-kong-proxy.yaml";
  const dashboardRoutes: [string, number, Record<string, any>, string[]][] = [
    ["accepts", 443, {}, []],
    ["accepts", 8000, plainHttp, []],
    [
      "rejects",
      443,
      plainHttp,
      [
        `test/app: HTTPRoute kubernetes-dashboard/kubernetes-dashboard: spec.rules[0].backendRefs[0]: Service "kubernetes-dashboard-kong-proxy" has no port 443 (it has 8000, ${source})`,
      ],
    ],
  ];
  for (const [verdict, port, values, problems] of dashboardRoutes) {
    const given = Object.keys(values).length ? "plain HTTP on 8000 and no TLS" : "the chart's defaults";
    it(`${verdict} a route to the dashboard's kong proxy on port ${port} when the values give it ${given}`, async () => {
      assert.deepEqual(await routeToDashboard(port, values), problems);
    });
  }
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

describe("checking that every namespace the stack creates enforces a Pod Security level", () => {
  const namespaceProblem = (what: string) =>
    `test/app: Namespace web: metadata.labels["pod-security.kubernetes.io/enforce"]: ${what}`;

  it("rejects a namespace without an enforce label", async () => {
    const problems = await problemsWith((parts) => {
      delete parts.app.namespace.metadata.labels;
    });
    assert.deepEqual(problems, [
      namespaceProblem("not set: give the namespace a Pod Security level (privileged, baseline, restricted)"),
    ]);
  });

  it("rejects an enforce label that names no level", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.namespace.metadata.labels["pod-security.kubernetes.io/enforce"] = "strict";
    });
    assert.deepEqual(problems, [
      namespaceProblem('"strict" is not a Pod Security level (privileged, baseline, restricted)'),
    ]);
  });

  it("leaves a namespace the stack only reads, and its pods, to the cluster", async () => {
    // kube-system is read, never labelled by the stack; a root pod there is Cilium's business.
    const problems = await problemsWith((parts) => {
      parts.extra.push({
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "agent", namespace: "kube-system" },
        spec: {
          selector: { matchLabels: { app: "agent" } },
          template: {
            metadata: { labels: { app: "agent" } },
            spec: {
              hostNetwork: true,
              containers: [
                { name: "agent", image: "busybox:1.37", securityContext: { privileged: true }, resources },
              ],
            },
          },
        },
      });
    });
    assert.deepEqual(problems, []);
  });
});

describe("checking that every container has a memory limit", () => {
  const missing: [string, Edit, string][] = [
    [
      "a main container without resources",
      (parts) => {
        delete container(parts).resources;
      },
      "spec.template.spec.containers[0].resources.limits.memory",
    ],
    [
      "a main container with requests only",
      (parts) => {
        container(parts).resources = { requests: { cpu: "10m", memory: "32Mi" } };
      },
      "spec.template.spec.containers[0].resources.limits.memory",
    ],
    [
      "a sidecar with a CPU limit only",
      (parts) => {
        pod(parts).containers.push({
          ...container(parts),
          name: "exporter",
          resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "100m" } },
        });
      },
      "spec.template.spec.containers[1].resources.limits.memory",
    ],
    [
      "an init container without resources",
      (parts) => {
        pod(parts).initContainers = [{ ...container(parts), name: "migrate", resources: undefined }];
      },
      "spec.template.spec.initContainers[0].resources.limits.memory",
    ],
  ];
  for (const [what, edit, path] of missing) {
    it(`rejects ${what}`, async () => {
      assert.deepEqual(await problemsWith(edit), [
        `${deployment}: ${path}: not set: the container could take the memory of the whole node`,
      ]);
    });
  }

  /** The problems of the test stack with its cilium release's values edited. */
  const withCiliumValues = (edit: (values: Record<string, any>) => void) =>
    problemsWith((parts) => edit(parts.release.values));
  const ciliumProblem = (path: string, containers: string) =>
    `test/cilium: HelmRelease kube-system/cilium: values.${path}.limits.memory: not set, so ${containers} would ` +
    "run without a memory limit (chart cilium 1.19.4, templates/cilium-agent, cilium-operator, cilium-envoy, hubble-relay)";

  const chartCases: [string, (values: Record<string, any>) => void, string[]][] = [
    [
      "rejects a chart's container value without a memory limit",
      (values) => {
        delete values.operator.resources.limits;
      },
      [ciliumProblem("operator.resources", "the operator")],
    ],
    [
      "rejects a chart's container value the release leaves out",
      (values) => {
        delete values.initResources;
      },
      [
        ciliumProblem(
          "initResources",
          "the agent's init containers config, apply-sysctl-overwrites, mount-bpf-fs, clean-cilium-state",
        ),
      ],
    ],
    [
      "accepts a value of containers the release does not render",
      (values) => {
        values.hubble.relay = { enabled: false };
      },
      [],
    ],
  ];
  for (const [verdict, edit, problems] of chartCases) {
    it(verdict, async () => {
      assert.deepEqual(await withCiliumValues(edit), problems);
    });
  }

  /** The problems of a kubernetes-dashboard release in kube-system with these values. */
  const dashboard = (values: Record<string, any>) =>
    problemsWith((parts) => {
      parts.release = {
        chart: "kubernetes-dashboard",
        version: "7.13.0",
        name: "kubernetes-dashboard",
        namespace: "kube-system",
        repositoryOpts: { repo: "https://kubernetes.github.io/dashboard" },
        values,
      };
    });

  it("counts a chart's own default limits under what the release sets", async () => {
    // The dashboard's values.yaml limits its own containers; Kong's subchart sets nothing.
    assert.deepEqual(await dashboard({ api: { containers: { resources: { requests: { cpu: "10m" } } } } }), [
      "test/cilium: HelmRelease kube-system/kubernetes-dashboard: values.kong.resources.limits.memory: not set, so " +
        "Kong's proxy and its clear-stale-pid init container would run without a memory limit (chart " +
        "kubernetes-dashboard 7.13.0, values.yaml and the kong subchart's templates/deployment.yaml)",
    ]);
    assert.deepEqual(await dashboard({ kong: { resources } }), []);
  });
});

describe("checking pod templates against their namespace's Pod Security level", () => {
  /** The problem of the web Deployment at `path`: `what`, which `level` forbids. */
  const violation = (path: string, what: string, level = "restricted") =>
    `${deployment}: spec.template.spec.${path}: ${what}, which Pod Security "${level}" forbids in namespace "web"`;
  const inNamespace =
    (level: string, edit: Edit): Edit =>
    (parts) => {
      parts.app.namespace.metadata.labels["pod-security.kubernetes.io/enforce"] = level;
      edit(parts);
    };
  const context = (parts: TestStackParts) => container(parts).securityContext;

  const cases: [string, string, Edit, string[]][] = [
    [
      "restricted",
      "a pod on the host's network",
      (parts) => {
        pod(parts).hostNetwork = true;
      },
      [violation("hostNetwork", "shares a host namespace")],
    ],
    [
      "restricted",
      "a privileged container",
      (parts) => {
        context(parts).privileged = true;
      },
      [violation("containers[0].securityContext.privileged", "is privileged")],
    ],
    [
      "restricted",
      "a capability other than NET_BIND_SERVICE",
      (parts) => {
        context(parts).capabilities.add = ["NET_ADMIN"];
      },
      [violation("containers[0].securityContext.capabilities.add", "adds NET_ADMIN")],
    ],
    [
      "restricted",
      "NET_BIND_SERVICE, the one capability it allows",
      (parts) => {
        context(parts).capabilities.add = ["NET_BIND_SERVICE"];
      },
      [],
    ],
    [
      "restricted",
      "the runtime's default capabilities",
      (parts) => {
        context(parts).capabilities = {};
      },
      [
        violation(
          "containers[0].securityContext.capabilities.drop",
          "keeps the runtime's default capabilities (ALL not dropped)",
        ),
      ],
    ],
    [
      "restricted",
      "privilege escalation",
      (parts) => {
        context(parts).allowPrivilegeEscalation = true;
      },
      [
        violation(
          "containers[0].securityContext.allowPrivilegeEscalation",
          "may escalate privileges (not set to false)",
        ),
      ],
    ],
    [
      "restricted",
      "a container that may run as root",
      (parts) => {
        context(parts).runAsNonRoot = false;
      },
      [
        violation(
          "containers[0].securityContext.runAsNonRoot",
          "may run as root (runAsNonRoot is not true here or for the pod)",
        ),
      ],
    ],
    [
      "restricted",
      "a pod running as user 0",
      (parts) => {
        pod(parts).securityContext.runAsUser = 0;
      },
      [violation("securityContext.runAsUser", "runs as root (0)")],
    ],
    [
      "restricted",
      "a pod without a seccomp profile",
      (parts) => {
        delete pod(parts).securityContext.seccompProfile;
      },
      [
        violation(
          "containers[0].securityContext.seccompProfile",
          "has no seccomp profile (RuntimeDefault or Localhost, here or for the pod)",
        ),
      ],
    ],
    [
      "restricted",
      "a container's own seccomp profile in place of the pod's",
      (parts) => {
        delete pod(parts).securityContext.seccompProfile;
        context(parts).seccompProfile = { type: "RuntimeDefault" };
      },
      [],
    ],
    [
      "restricted",
      "a host path",
      (parts) => {
        pod(parts).volumes.push({ name: "host", hostPath: { path: "/" } });
      },
      [violation("volumes[host]", "mounts a host path")],
    ],
    [
      "restricted",
      "an NFS volume",
      (parts) => {
        pod(parts).volumes.push({ name: "share", nfs: { server: "nas", path: "/" } });
      },
      [violation("volumes[share]", "is a nfs volume")],
    ],
    [
      "restricted",
      "a host port",
      (parts) => {
        container(parts).ports[0].hostPort = 8080;
      },
      [violation("containers[0].ports[0].hostPort", "opens a host port")],
    ],
    [
      "restricted",
      "a sysctl outside the safe set",
      (parts) => {
        pod(parts).securityContext.sysctls = [{ name: "net.ipv4.ip_forward", value: "1" }];
      },
      [violation("securityContext.sysctls[net.ipv4.ip_forward]", "sets a sysctl outside the safe set")],
    ],
    [
      "restricted",
      "a safe sysctl",
      (parts) => {
        pod(parts).securityContext.sysctls = [{ name: "net.ipv4.ping_group_range", value: "0 1000" }];
      },
      [],
    ],
    [
      "baseline",
      "a capability beyond the runtime's defaults",
      (parts) => {
        context(parts).capabilities.add = ["NET_ADMIN"];
      },
      [violation("containers[0].securityContext.capabilities.add", "adds NET_ADMIN", "baseline")],
    ],
    [
      "baseline",
      "one of the runtime's default capabilities",
      (parts) => {
        context(parts).capabilities.add = ["CHOWN"];
      },
      [],
    ],
    [
      "baseline",
      "a host path",
      (parts) => {
        pod(parts).volumes.push({ name: "host", hostPath: { path: "/" } });
      },
      [violation("volumes[host]", "mounts a host path", "baseline")],
    ],
    [
      "baseline",
      "a root pod with default capabilities, privilege escalation and an NFS volume",
      (parts) => {
        pod(parts).securityContext = { runAsUser: 0 };
        context(parts).capabilities = {};
        context(parts).allowPrivilegeEscalation = true;
        pod(parts).volumes.push({ name: "share", nfs: { server: "nas", path: "/" } });
      },
      [],
    ],
    [
      "privileged",
      "a VPN relay: host /dev/net/tun, NET_ADMIN, root and forwarding sysctls",
      (parts) => {
        pod(parts).securityContext = {
          runAsNonRoot: false,
          sysctls: [{ name: "net.ipv4.ip_forward", value: "1" }],
        };
        context(parts).capabilities = { add: ["NET_ADMIN"], drop: ["ALL"] };
        pod(parts).volumes.push({ name: "tun", hostPath: { path: "/dev/net/tun", type: "CharDevice" } });
      },
      [],
    ],
  ];
  for (const [level, what, edit, problems] of cases) {
    it(`${problems.length > 0 ? "rejects" : "accepts"} ${what} in a ${level} namespace`, async () => {
      assert.deepEqual(await problemsWith(inNamespace(level, edit)), problems);
    });
  }

  it("rejects a container that must run as non-root but names no user, which the kubelet could refuse", async () => {
    const problems = await problemsWith((parts) => {
      delete pod(parts).securityContext.runAsUser;
    });
    assert.deepEqual(problems, [
      `${deployment}: spec.template.spec.containers[0].securityContext.runAsUser: not set here or for the pod, ` +
        "under runAsNonRoot: the kubelet would start the container only if its image's user were numeric and not root",
    ]);
  });
});

describe("checking that no ClusterRole reads every Secret", () => {
  /** The test stack with one more ClusterRole, with these rules. */
  const withClusterRole = (rules: Record<string, any>[]) =>
    problemsWith((parts) => {
      parts.extra.push({
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRole",
        metadata: { name: "web-secrets" },
        rules,
      });
    });

  it("rejects a ClusterRole that gets, lists or watches Secrets without naming them", async () => {
    for (const verbs of [["get"], ["list", "watch"], ["*"]]) {
      assert.deepEqual(
        await withClusterRole([
          { apiGroups: [""], resources: ["configmaps"], verbs: ["list"] },
          { apiGroups: [""], resources: ["secrets"], verbs },
        ]),
        [
          "test/app: ClusterRole web-secrets: rules[1]: reads every Secret of the cluster (secrets without " +
            "resourceNames); grant a Role in the namespaces that need it",
        ],
        verbs.join(","),
      );
    }
  });

  it("rejects a rule on every resource or every group, which includes Secrets", async () => {
    const problems = await withClusterRole([
      { apiGroups: ["*"], resources: ["*"], verbs: ["get"] },
      { apiGroups: [""], resources: ["*"], verbs: ["list"] },
    ]);
    assert.equal(problems.length, 2, problems.join("\n"));
  });

  it("accepts a ClusterRole that reads named Secrets only, or writes Secrets without reading them", async () => {
    assert.deepEqual(
      await withClusterRole([
        { apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["web-tls"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ]),
      [],
    );
  });

  it("accepts a Role that reads the Secrets of its own namespace", async () => {
    const problems = await problemsWith((parts) => {
      parts.app.role.rules = [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }];
    });
    assert.deepEqual(problems, []);
  });
});

describe("checking what Traefik's Gateway API provider serves", () => {
  const traefikRelease = (values: Record<string, any>): StackRelease => ({
    project: "internal-gateway",
    name: "traefik",
    chart: "traefik",
    namespace: "edge",
    values,
  });
  const gatewayValues = (namespaces: string[] | undefined) => ({
    rbac: { enabled: false },
    resources,
    serviceAccount: { name: "traefik" },
    providers: {
      kubernetesGateway: {
        enabled: true,
        labelSelector: "app.kubernetes.io/name=internal",
        ...(namespaces ? { namespaces } : {}),
      },
    },
  });
  /** Namespace notes with a Gateway of class internal, and (unless told otherwise) Traefik's RoleBinding there. */
  const stackObjects = (options: { gatewayNamespace?: string; binding?: boolean } = {}): StackObject[] => [
    {
      project: "internal-gateway",
      object: {
        kind: "GatewayClass",
        metadata: { name: "internal", labels: { "app.kubernetes.io/name": "internal" } },
        spec: { controllerName: "traefik.io/gateway-controller" },
      },
    },
    {
      project: "notes",
      object: { kind: "Namespace", metadata: { name: "notes", labels: restrictedLabels } },
    },
    {
      project: "notes",
      object: {
        kind: "Gateway",
        metadata: { name: "notes", namespace: options.gatewayNamespace ?? "notes" },
        spec: { gatewayClassName: "internal" },
      },
    },
    ...(options.binding === false
      ? []
      : [
          {
            project: "notes",
            object: {
              kind: "RoleBinding",
              metadata: { name: "internal-gateway-notes", namespace: "notes" },
              roleRef: {
                apiGroup: "rbac.authorization.k8s.io",
                kind: "Role",
                name: "internal-gateway-notes",
              },
              subjects: [{ kind: "ServiceAccount", name: "traefik", namespace: "edge" }],
            },
          },
        ]),
  ];
  // Problems of these checks only: the objects above stand alone (no Role, no ServiceAccount).
  const traefikProblems = (objects: StackObject[], releases: StackRelease[]) =>
    checkMeaning(
      objects,
      new Set(["Role/notes/internal-gateway-notes", "ServiceAccount/edge/traefik"]),
      releases,
    ).map((problem) => `${problem.project}: ${problem.message}`);

  it("accepts a Traefik that watches exactly the namespaces of its Gateways, each granting it access", () => {
    assert.deepEqual(traefikProblems(stackObjects(), [traefikRelease(gatewayValues(["notes"]))]), []);
  });

  it("rejects the chart's own RBAC, whose ClusterRole reads every Secret", () => {
    const values = { ...gatewayValues(["notes"]), rbac: undefined };
    assert.deepEqual(traefikProblems(stackObjects(), [traefikRelease(values)]), [
      "internal-gateway: HelmRelease edge/traefik: rbac: the chart's ClusterRole reads every Secret of the cluster " +
        "(chart traefik 41.3.0, templates/rbac/clusterrole.yaml); turn its RBAC off and grant Roles where the release needs them",
    ]);
  });

  it("rejects a provider that lists no namespace, which watches them all", () => {
    assert.deepEqual(traefikProblems(stackObjects(), [traefikRelease(gatewayValues(undefined))]), [
      "internal-gateway: HelmRelease edge/traefik: providers.kubernetesGateway.namespaces: lists no namespace, so " +
        "Traefik watches every one, which needs every Secret of the cluster",
      'notes: Gateway notes/notes: spec.gatewayClassName: no Traefik release of the stack claims GatewayClass "internal" ' +
        "with its Gateway API provider on: the Gateway would never be served",
    ]);
  });

  it("rejects a Gateway in a namespace its class's Traefik does not watch", () => {
    const objects = [
      ...stackObjects({ gatewayNamespace: "drafts" }),
      {
        project: "drafts",
        object: { kind: "Namespace", metadata: { name: "drafts", labels: restrictedLabels } },
      },
    ];
    assert.deepEqual(traefikProblems(objects, [traefikRelease(gatewayValues(["notes"]))]), [
      'notes: Gateway drafts/notes: spec.gatewayClassName: "internal" is served by HelmRelease edge/traefik, which does ' +
        'not watch namespace "drafts" (providers.kubernetesGateway.namespaces): the Gateway would never be served',
    ]);
  });

  it("rejects a watched namespace of the stack that grants Traefik no access, which would stall it", () => {
    assert.deepEqual(
      traefikProblems(stackObjects({ binding: false }), [traefikRelease(gatewayValues(["notes"]))]),
      [
        'internal-gateway: HelmRelease edge/traefik: providers.kubernetesGateway.namespaces: watches namespace "notes", ' +
          'where no RoleBinding grants ServiceAccount "edge/traefik" access: Traefik would wait for it and serve no Gateway at all',
      ],
    );
  });

  it("leaves a watched namespace this stack does not create to the projects synth did not run", () => {
    assert.deepEqual(
      traefikProblems(stackObjects(), [traefikRelease(gatewayValues(["notes", "later"]))]),
      [],
    );
  });

  it("rejects a Gateway of a class whose Traefik has its Gateway API provider off", () => {
    const values = {
      rbac: { enabled: false },
      resources,
      providers: { kubernetesGateway: { enabled: false } },
    };
    assert.deepEqual(traefikProblems(stackObjects(), [traefikRelease(values)]), [
      'notes: Gateway notes/notes: spec.gatewayClassName: no Traefik release of the stack claims GatewayClass "internal" ' +
        "with its Gateway API provider on: the Gateway would never be served",
    ]);
  });
});
