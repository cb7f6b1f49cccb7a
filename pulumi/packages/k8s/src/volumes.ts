import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** A scratch directory that lives as long as the pod. */
export interface EmptyDirVolume {
  kind: "emptyDir";
  /** The volume's name in the pod. */
  name: string;
  /** `Memory` for a tmpfs. */
  medium?: "Memory";
  /** Upper bound, for example `"1Gi"`. */
  sizeLimit?: string;
}

/** A path of the node, for the few system workloads that need one (for example `/dev/net/tun`). */
export interface HostPathVolume {
  kind: "hostPath";
  /** The volume's name in the pod. */
  name: string;
  /** The path on the node. */
  path: string;
  /** What must exist at the path. */
  type?: "Directory" | "DirectoryOrCreate" | "File" | "FileOrCreate" | "CharDevice" | "Socket";
}

/** Creates an emptyDir volume to mount. */
export function emptyDir(name: string, options: Omit<EmptyDirVolume, "kind" | "name"> = {}): EmptyDirVolume {
  return { kind: "emptyDir", name, ...options };
}

/** Creates a hostPath volume to mount. */
export function hostPath(name: string, path: string, type?: HostPathVolume["type"]): HostPathVolume {
  return { kind: "hostPath", name, path, ...(type ? { type } : {}) };
}

/** Anything a container can mount: the object itself, never its name. */
export type Mountable =
  | k8s.core.v1.PersistentVolumeClaim
  | k8s.core.v1.ConfigMap
  | k8s.core.v1.Secret
  | EmptyDirVolume
  | HostPathVolume;

export interface VolumeMountArgs {
  /** What to mount. */
  volume: Mountable;
  /** Where it appears in the container. */
  mountPath: string;
  /** Mount only this path of the volume. */
  subPath?: string;
  /** Mount read-only. ConfigMaps and Secrets are always read-only. */
  readOnly?: boolean;
  /** File mode of ConfigMap/Secret entries, for example `0o755` for scripts. */
  defaultMode?: number;
}

/** The pod volumes the mounts of all containers need, each declared once, with stable names. */
export class PodVolumes {
  // Keyed by the object mounted, or by name for emptyDir and hostPath volumes (plain descriptions:
  // `emptyDir("shared")` in two containers is one pod volume).
  private readonly volumes = new Map<
    Mountable | string,
    { name: pulumi.Input<string>; spec: k8s.types.input.core.v1.Volume }
  >();

  /** The pod's `volumes`. */
  list(): k8s.types.input.core.v1.Volume[] {
    return [...this.volumes.values()].map((entry) => entry.spec);
  }

  /** ConfigMaps mounted in the pod, to roll the pod out when their content changes. */
  configMaps(): k8s.core.v1.ConfigMap[] {
    return [...this.volumes.keys()].filter((volume) => k8s.core.v1.ConfigMap.isInstance(volume));
  }

  /** The container's `volumeMounts` for these mounts, declaring each volume on first use. */
  mount(mounts: VolumeMountArgs[] = []): k8s.types.input.core.v1.VolumeMount[] {
    return mounts.map((mount) => {
      const name = this.declare(mount);
      const readOnly = !isWritable(mount.volume) || (mount.readOnly ?? false);
      return {
        name,
        mountPath: mount.mountPath,
        ...(mount.subPath ? { subPath: mount.subPath } : {}),
        ...(readOnly ? { readOnly } : {}),
      };
    });
  }

  private declare(mount: VolumeMountArgs): pulumi.Input<string> {
    const inline = isInline(mount.volume) ? mount.volume : undefined;
    const key = inline ? inline.name : mount.volume;
    const existing = this.volumes.get(key);
    if (existing) {
      if (inline && JSON.stringify(existing.spec) !== JSON.stringify(volumeSpec(mount))) {
        throw new Error(`Pod volume "${inline.name}" is declared twice with different sources`);
      }
      return existing.name;
    }
    const volume = volumeSpec(mount);
    this.volumes.set(key, { name: volume.name, spec: volume });
    return volume.name;
  }
}

function isInline(volume: Mountable): volume is EmptyDirVolume | HostPathVolume {
  return !(
    k8s.core.v1.PersistentVolumeClaim.isInstance(volume) ||
    k8s.core.v1.ConfigMap.isInstance(volume) ||
    k8s.core.v1.Secret.isInstance(volume)
  );
}

function isWritable(volume: Mountable): boolean {
  return !(k8s.core.v1.ConfigMap.isInstance(volume) || k8s.core.v1.Secret.isInstance(volume));
}

function volumeSpec(mount: VolumeMountArgs): k8s.types.input.core.v1.Volume & { name: pulumi.Input<string> } {
  const volume = mount.volume;
  const mode = mount.defaultMode === undefined ? {} : { defaultMode: mount.defaultMode };
  if (k8s.core.v1.PersistentVolumeClaim.isInstance(volume)) {
    return {
      name: pulumi.interpolate`pvc-${volume.metadata.name}`,
      persistentVolumeClaim: { claimName: volume.metadata.name },
    };
  }
  if (k8s.core.v1.ConfigMap.isInstance(volume)) {
    return {
      name: pulumi.interpolate`cm-${volume.metadata.name}`,
      configMap: { name: volume.metadata.name, ...mode },
    };
  }
  if (k8s.core.v1.Secret.isInstance(volume)) {
    return {
      name: pulumi.interpolate`secret-${volume.metadata.name}`,
      secret: { secretName: volume.metadata.name, ...mode },
    };
  }
  if (volume.kind === "emptyDir") {
    const { medium, sizeLimit } = volume;
    return {
      name: volume.name,
      emptyDir: { ...(medium ? { medium } : {}), ...(sizeLimit ? { sizeLimit } : {}) },
    };
  }
  return {
    name: volume.name,
    hostPath: { path: volume.path, ...(volume.type ? { type: volume.type } : {}) },
  };
}

/** A short hash of a ConfigMap's content, for a pod annotation that rolls pods out on change. */
export function configMapChecksum(configMap: k8s.core.v1.ConfigMap): pulumi.Output<string> {
  return pulumi
    .all([configMap.data, configMap.binaryData])
    .apply(([data, binaryData]) =>
      createHash("sha256").update(JSON.stringify({ data, binaryData })).digest("hex").slice(0, 16),
    );
}
