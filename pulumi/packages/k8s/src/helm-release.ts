import type { ChartVersion } from "@infra/core";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { namespacedResourceName } from "./metadata";

export interface HelmReleaseArgs {
  /** The release's name. */
  name: string;
  /** The namespace the chart is installed into; the release inherits its provider. */
  namespace: k8s.core.v1.Namespace;
  /** The chart, pinned in `@infra/core` versions. */
  chart: ChartVersion;
  /** The chart's values; validated against the chart's schema by synth. */
  values: pulumi.Input<Record<string, unknown>>;
  /**
   * Leave out the chart's own CRDs (its `crds/` folder), for charts whose CRDs another layer
   * owns or that are not used.
   */
  skipCrds?: boolean;
  /** Wait until the release's resources are ready; true by default. */
  wait?: boolean;
  /** Seconds to wait. */
  timeoutSeconds?: number;
  /** Extra Pulumi options (for example `dependsOn`); the parent is always the namespace. */
  options?: Omit<pulumi.CustomResourceOptions, "parent" | "provider">;
}

/**
 * Installs a Helm chart as a Helm release (`helm list` shows it, and Helm's own upgrade and
 * rollback work) from the chart's repository at its pinned version.
 */
export function createHelmRelease(args: HelmReleaseArgs): k8s.helm.v3.Release {
  return new k8s.helm.v3.Release(
    namespacedResourceName({ namespace: args.namespace, name: args.name }),
    {
      name: args.name,
      namespace: args.namespace.metadata.name,
      chart: args.chart.chart,
      version: args.chart.version,
      repositoryOpts: { repo: args.chart.repository },
      values: args.values,
      atomic: true,
      cleanupOnFail: true,
      skipAwait: args.wait === false,
      ...(args.skipCrds ? { skipCrds: true } : {}),
      ...(args.timeoutSeconds === undefined ? {} : { timeout: args.timeoutSeconds }),
    },
    { ...args.options, parent: args.namespace },
  );
}
