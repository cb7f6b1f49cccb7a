/** One rendered object with where it came from. */
export interface StackObject {
  project: string;
  object: Record<string, any>;
}

/** Objects a Helm chart creates itself, by chart name (documented here so references to them resolve). */
export const helmProvidedObjects: Record<string, { kind: string; name: string }[]> = {
  // Kong's proxy, the dashboard's only entrance and its route's backend (for the release name
  // `kubernetes-dashboard` the kubernetes-dashboard project uses).
  "kubernetes-dashboard": [{ kind: "Service", name: "kubernetes-dashboard-kong-proxy" }],
};

/** Namespaces every k3s cluster has. */
const builtInNamespaces = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** Cluster roles every cluster has. */
const builtInClusterRoles = ["cluster-admin", "admin", "edit", "view"];

const workloadKinds = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"];

function key(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

function describe(object: Record<string, any>): string {
  const namespace = object.metadata?.namespace;
  return `${object.kind} ${namespace ? `${namespace}/` : ""}${object.metadata?.name}`;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([name, value]) => labels?.[name] === value);
}

/** The pod template of an object and the path to it, if it has one. */
function podTemplate(
  object: Record<string, any>,
): { path: string; template: Record<string, any> } | undefined {
  if (workloadKinds.includes(object.kind) || object.kind === "Job") {
    return object.spec?.template ? { path: "spec.template", template: object.spec.template } : undefined;
  }
  if (object.kind === "CronJob" && object.spec?.jobTemplate?.spec?.template) {
    return { path: "spec.jobTemplate.spec.template", template: object.spec.jobTemplate.spec.template };
  }
  return undefined;
}

/**
 * Checks what schemas cannot: selectors select, mounts and references resolve, namespaces
 * exist. `existing` holds keys (`Kind/namespace/name`) of objects the stack reads rather than
 * creates; `releases` the Helm releases, whose documented objects count as existing.
 */
export function checkMeaning(
  objects: StackObject[],
  existing: Set<string>,
  releases: { chart: string; namespace: string }[],
): { project: string; message: string }[] {
  const problems: { project: string; message: string }[] = [];
  const known = new Set(existing);
  for (const { object } of objects)
    known.add(key(object.kind, object.metadata?.namespace, object.metadata?.name));
  for (const release of releases) {
    for (const provided of helmProvidedObjects[release.chart] ?? []) {
      known.add(key(provided.kind, release.namespace, provided.name));
    }
  }
  const namespaceExists = (name: string) =>
    builtInNamespaces.includes(name) || known.has(key("Namespace", "", name));

  for (const { project, object } of objects) {
    const report = (path: string, message: string) =>
      problems.push({ project, message: `${describe(object)}: ${path}: ${message}` });
    const namespace: string | undefined = object.metadata?.namespace;
    if (namespace && !namespaceExists(namespace)) {
      report("metadata.namespace", `namespace "${namespace}" is neither created nor read by this stack`);
    }
    const refExists = (kind: string, name: string) =>
      known.has(key(kind, namespace, name)) || (kind === "ServiceAccount" && name === "default");

    if (workloadKinds.includes(object.kind)) {
      const selector = object.spec?.selector?.matchLabels ?? {};
      if (!matches(selector, object.spec?.template?.metadata?.labels)) {
        report("spec.selector.matchLabels", "does not match the pod template's labels");
      }
    }

    const pod = podTemplate(object);
    if (pod) checkPod(pod.path, pod.template.spec ?? {}, report, refExists);

    if (object.kind === "Service" && object.spec?.selector) {
      const selector: Record<string, string> = object.spec.selector;
      const selected = objects
        .map(({ object: candidate }) => ({ candidate, pod: podTemplate(candidate) }))
        .filter(
          ({ candidate, pod: candidatePod }) =>
            workloadKinds.includes(candidate.kind) &&
            candidate.metadata?.namespace === namespace &&
            candidatePod &&
            matches(selector, candidatePod.template.metadata?.labels),
        );
      if (selected.length === 0) {
        report("spec.selector", "selects no workload's pods in its namespace");
      } else {
        (object.spec.ports ?? []).forEach((port: Record<string, any>, index: number) => {
          if (typeof port.targetPort !== "string") return;
          const named = selected.some(({ pod: selectedPod }) =>
            [...(selectedPod?.template.spec?.containers ?? [])].some((container: Record<string, any>) =>
              (container.ports ?? []).some(
                (containerPort: Record<string, any>) => containerPort.name === port.targetPort,
              ),
            ),
          );
          if (!named)
            report(
              `spec.ports[${index}].targetPort`,
              `no selected container has a port named "${port.targetPort}"`,
            );
        });
      }
    }

    if (object.kind === "RoleBinding" || object.kind === "ClusterRoleBinding") {
      const roleRef = object.roleRef ?? {};
      const roleKnown =
        roleRef.kind === "ClusterRole"
          ? builtInClusterRoles.includes(roleRef.name) ||
            known.has(key("ClusterRole", undefined, roleRef.name))
          : known.has(key("Role", namespace, roleRef.name));
      if (!roleKnown) report("roleRef", `${roleRef.kind} "${roleRef.name}" does not exist`);
      (object.subjects ?? []).forEach((subject: Record<string, any>, index: number) => {
        if (subject.kind !== "ServiceAccount") return;
        const exists =
          subject.name === "default" ||
          known.has(key("ServiceAccount", subject.namespace ?? namespace, subject.name));
        if (!exists) {
          report(
            `subjects[${index}]`,
            `ServiceAccount "${subject.namespace}/${subject.name}" does not exist`,
          );
        }
      });
    }
  }
  return problems;
}

function checkPod(
  path: string,
  spec: Record<string, any>,
  report: (path: string, message: string) => void,
  refExists: (kind: string, name: string) => boolean,
): void {
  const volumes = new Map<string, Record<string, any>>(
    (spec.volumes ?? []).map((volume: Record<string, any>) => [volume.name, volume]),
  );
  if (spec.serviceAccountName && !refExists("ServiceAccount", spec.serviceAccountName)) {
    report(
      `${path}.spec.serviceAccountName`,
      `ServiceAccount "${spec.serviceAccountName}" does not exist in the namespace`,
    );
  }
  for (const [name, volume] of volumes) {
    const at = `${path}.spec.volumes[${name}]`;
    if (volume.configMap && !volume.configMap.optional && !refExists("ConfigMap", volume.configMap.name)) {
      report(at, `ConfigMap "${volume.configMap.name}" does not exist in the namespace`);
    }
    if (volume.secret && !volume.secret.optional && !refExists("Secret", volume.secret.secretName)) {
      report(at, `Secret "${volume.secret.secretName}" does not exist in the namespace`);
    }
    if (
      volume.persistentVolumeClaim &&
      !refExists("PersistentVolumeClaim", volume.persistentVolumeClaim.claimName)
    ) {
      report(
        at,
        `PersistentVolumeClaim "${volume.persistentVolumeClaim.claimName}" does not exist in the namespace`,
      );
    }
  }
  for (const field of ["initContainers", "containers"]) {
    (spec[field] ?? []).forEach((container: Record<string, any>, index: number) => {
      const at = `${path}.spec.${field}[${index}]`;
      (container.volumeMounts ?? []).forEach((mount: Record<string, any>, mountIndex: number) => {
        if (!volumes.has(mount.name)) {
          report(
            `${at}.volumeMounts[${mountIndex}].name`,
            `volume "${mount.name}" is not declared in the pod`,
          );
        }
      });
      (container.env ?? []).forEach((variable: Record<string, any>) => {
        const secretRef = variable.valueFrom?.secretKeyRef;
        if (secretRef && !secretRef.optional && !refExists("Secret", secretRef.name)) {
          report(`${at}.env[${variable.name}]`, `Secret "${secretRef.name}" does not exist in the namespace`);
        }
        const configMapRef = variable.valueFrom?.configMapKeyRef;
        if (configMapRef && !configMapRef.optional && !refExists("ConfigMap", configMapRef.name)) {
          report(
            `${at}.env[${variable.name}]`,
            `ConfigMap "${configMapRef.name}" does not exist in the namespace`,
          );
        }
      });
      (container.envFrom ?? []).forEach((source: Record<string, any>, sourceIndex: number) => {
        if (source.secretRef && !source.secretRef.optional && !refExists("Secret", source.secretRef.name)) {
          report(
            `${at}.envFrom[${sourceIndex}]`,
            `Secret "${source.secretRef.name}" does not exist in the namespace`,
          );
        }
        if (
          source.configMapRef &&
          !source.configMapRef.optional &&
          !refExists("ConfigMap", source.configMapRef.name)
        ) {
          report(
            `${at}.envFrom[${sourceIndex}]`,
            `ConfigMap "${source.configMapRef.name}" does not exist in the namespace`,
          );
        }
      });
    });
  }
}
