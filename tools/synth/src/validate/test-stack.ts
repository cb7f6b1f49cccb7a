import type { ResourceRecord } from "../run-program";
import { secretSignatureKey, secretSignatureValue } from "../secrets";
import type { ProjectSynth, StackSynth } from "../synth";
import { validateStack } from "./index";

/**
 * A small synthesized stack that passes every validation rule, as plain data, for the
 * validator tests: project "cilium" installs the cilium chart into kube-system; project "app"
 * runs a web server in namespace "web" with everything it references.
 */
export const stackName = "test";

/** The Kubernetes objects of the "app" project, by role; tests edit them to break one thing. */
export interface AppObjects {
  namespace: Record<string, any>;
  configMap: Record<string, any>;
  secret: Record<string, any>;
  pvc: Record<string, any>;
  serviceAccount: Record<string, any>;
  deployment: Record<string, any>;
  service: Record<string, any>;
  role: Record<string, any>;
  roleBinding: Record<string, any>;
  policy: Record<string, any>;
  gateway: Record<string, any>;
  route: Record<string, any>;
}

/** The inputs of a Helm release (the cilium release of the test stack). */
export interface ReleaseInputs {
  chart: string;
  version: string;
  name: string;
  namespace: string;
  repositoryOpts: { repo: string };
  values: Record<string, any>;
}

export interface TestStackParts {
  app: AppObjects;
  /** More objects of the "app" project (none in the valid stack). */
  extra: Record<string, any>[];
  release: ReleaseInputs;
}

/** A value as the Pulumi SDK hands a secret to the mocks. */
export function wrappedSecret(value: unknown): Record<string, unknown> {
  return { [secretSignatureKey]: secretSignatureValue, value };
}

const podLabels = { "app.kubernetes.io/name": "web" };

function appObjects(): AppObjects {
  const metadata = (name: string) => ({ name, namespace: "web", labels: { ...podLabels } });
  return {
    namespace: {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "web",
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "v1.35",
        },
      },
    },
    configMap: {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: metadata("web-config"),
      data: { mode: "production" },
    },
    secret: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: metadata("web-secrets"),
      type: "Opaque",
      stringData: { username: "web", password: wrappedSecret("correct-horse-battery") },
    },
    pvc: {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: metadata("web-data"),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    serviceAccount: { apiVersion: "v1", kind: "ServiceAccount", metadata: metadata("web") },
    deployment: {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: metadata("web"),
      spec: {
        replicas: 1,
        selector: { matchLabels: { ...podLabels } },
        template: {
          metadata: { labels: { ...podLabels, "app.kubernetes.io/version": "1.27" } },
          spec: {
            serviceAccountName: "web",
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 101,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "web",
                image: "nginx:1.27",
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                resources: { requests: { cpu: "10m", memory: "32Mi" }, limits: { memory: "64Mi" } },
                ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
                env: [
                  { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "web-secrets", key: "password" } } },
                  { name: "MODE", valueFrom: { configMapKeyRef: { name: "web-config", key: "mode" } } },
                ],
                envFrom: [{ configMapRef: { name: "web-config" } }, { secretRef: { name: "web-secrets" } }],
                volumeMounts: [
                  { name: "config", mountPath: "/etc/web" },
                  { name: "secrets", mountPath: "/run/secrets/web", readOnly: true },
                  { name: "data", mountPath: "/data" },
                ],
              },
            ],
            volumes: [
              { name: "config", configMap: { name: "web-config", items: [{ key: "mode", path: "mode" }] } },
              { name: "secrets", secret: { secretName: "web-secrets" } },
              { name: "data", persistentVolumeClaim: { claimName: "web-data" } },
            ],
          },
        },
      },
    },
    service: {
      apiVersion: "v1",
      kind: "Service",
      metadata: metadata("web"),
      spec: {
        type: "ClusterIP",
        selector: { ...podLabels },
        ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      },
    },
    role: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: metadata("web-reader"),
      rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
    },
    roleBinding: {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: metadata("web-reader"),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "web-reader" },
      subjects: [{ kind: "ServiceAccount", name: "web", namespace: "web" }],
    },
    policy: {
      apiVersion: "cilium.io/v2",
      kind: "CiliumNetworkPolicy",
      metadata: metadata("web-from-gateway"),
      spec: {
        endpointSelector: { matchLabels: { ...podLabels } },
        ingress: [
          {
            fromEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "web" } }],
            toPorts: [{ ports: [{ port: "8080", protocol: "TCP" }] }],
          },
        ],
      },
    },
    gateway: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "Gateway",
      metadata: metadata("web"),
      spec: {
        gatewayClassName: "traefik",
        listeners: [
          {
            name: "http",
            protocol: "HTTP",
            port: 80,
            hostname: "web.example.com",
            allowedRoutes: { namespaces: { from: "Same" } },
          },
        ],
      },
    },
    route: {
      apiVersion: "gateway.networking.k8s.io/v1",
      kind: "HTTPRoute",
      metadata: metadata("web"),
      spec: {
        parentRefs: [{ name: "web", sectionName: "http" }],
        hostnames: ["web.example.com"],
        rules: [
          {
            matches: [{ path: { type: "PathPrefix", value: "/" } }],
            backendRefs: [{ name: "web", port: 80 }],
          },
        ],
      },
    },
  };
}

/** Container resources with this memory limit. */
function resources(memory: string): Record<string, any> {
  return { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory } };
}

function ciliumRelease(): ReleaseInputs {
  return {
    chart: "cilium",
    version: "1.19.4",
    name: "cilium",
    namespace: "kube-system",
    repositoryOpts: { repo: "https://helm.cilium.io" },
    values: {
      policyEnforcementMode: "always",
      kubeProxyReplacement: false,
      k8sServiceHost: "10.0.1.2",
      k8sServicePort: 6443,
      operator: { replicas: 1, resources: resources("256Mi") },
      ipam: { mode: "cluster-pool", operator: { clusterPoolIPv4PodCIDRList: ["10.42.0.0/16"] } },
      hubble: {
        enabled: true,
        relay: { enabled: true, resources: resources("128Mi") },
        ui: { enabled: false },
      },
      resources: resources("1Gi"),
      initResources: resources("128Mi"),
      cgroup: { autoMount: { resources: resources("128Mi") } },
      cni: { resources: resources("128Mi") },
      envoy: { resources: resources("256Mi") },
    },
  };
}

/** The URN of the explicit kubernetes provider of a project, as a resource's provider reference. */
export function providerReference(project: string): string {
  return `urn:pulumi:${stackName}::${project}::pulumi:providers:kubernetes::kubernetes::kubernetes-id`;
}

/** The registration record of a Kubernetes object, made through the project's explicit provider. */
export function objectRecord(project: string, object: Record<string, any>, options: { read?: boolean } = {}) {
  const [group, version] = String(object.apiVersion).includes("/")
    ? String(object.apiVersion).split("/")
    : ["core", object.apiVersion];
  const type = `kubernetes:${group}/${version}:${object.kind}`;
  const name = object.metadata.name;
  return record(project, type, name, options.read ? {} : object, options);
}

/** The registration record of a Helm release, made through the project's explicit provider. */
export function releaseRecord(project: string, inputs: ReleaseInputs): ResourceRecord {
  return record(project, "kubernetes:helm.sh/v3:Release", inputs.name, { ...inputs });
}

function record(
  project: string,
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  options: { read?: boolean; provider?: string | null } = {},
): ResourceRecord {
  const provider = options.provider === undefined ? providerReference(project) : options.provider;
  return {
    urn: `urn:pulumi:${stackName}::${project}::${type}::${name}`,
    type,
    name,
    dependsOn: [],
    ...(provider ? { provider } : {}),
    custom: true,
    read: options.read ?? false,
    inputs,
  };
}

function project(name: string, resources: ResourceRecord[]): ProjectSynth {
  return {
    project: name,
    stack: stackName,
    resources: [
      record(name, "pulumi:providers:kubernetes", "kubernetes", { context: stackName }, { provider: null }),
      ...resources,
    ],
    outputs: {},
    reads: new Map(),
    missingProjects: new Set(),
    configReads: new Set(),
    references: new Set(),
    errors: [],
    examples: [],
    generatedSecrets: [],
    secretValues: [],
  };
}

/**
 * The valid test stack; `edit` changes its parts (objects, release inputs) before they are
 * turned into resource records, so a test can break exactly one thing.
 */
export function testStack(edit?: (parts: TestStackParts) => void): StackSynth {
  const parts: TestStackParts = { app: appObjects(), extra: [], release: ciliumRelease() };
  edit?.(parts);
  const kubeSystem = objectRecord(
    "cilium",
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "kube-system" } },
    {
      read: true,
    },
  );
  const release = releaseRecord("cilium", parts.release);
  release.parent = kubeSystem.urn;
  return {
    stack: stackName,
    errors: [],
    projects: [
      project("cilium", [kubeSystem, release]),
      project(
        "app",
        [...Object.values(parts.app), ...parts.extra].map((object) => objectRecord("app", object)),
      ),
    ],
  };
}

/** The project of the test stack with the given name; throws when there is none. */
export function projectOf(stack: StackSynth, name: string): ProjectSynth {
  const found = stack.projects.find((candidate) => candidate.project === name);
  if (!found) throw new Error(`the test stack has no project ${name}`);
  return found;
}

/** The problems validation finds in the test stack after `edit`. */
export function problemsWith(edit?: (parts: TestStackParts) => void): Promise<string[]> {
  return validateStack(testStack(edit));
}

/** The record of a resource of the test stack by type and name; throws when there is none. */
export function recordOf(stack: StackSynth, type: string, name: string): ResourceRecord {
  const found = stack.projects
    .flatMap((candidate) => candidate.resources)
    .find((resource) => resource.type === type && resource.name === name);
  if (!found) throw new Error(`the test stack has no ${type} named ${name}`);
  return found;
}
