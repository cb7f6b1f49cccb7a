import type { RecordedExposure } from "@projects/common";

/** The kind of the stack's notification target (`backup:notify`, which the backups report to). */
export type NotifyKind = "ntfy" | "healthchecks" | "webhook";

/** The target as the `shared` project exports it: its kind (plain), and its URL (a secret). */
export interface AlertTarget {
  kind: NotifyKind;
  /** The check of a healthchecks target: the monitor's own, beside the backup jobs' (`<slug>`). */
  check: string;
}

/**
 * The environment variables the alerting settings read (Gatus substitutes `${...}` in its config):
 * the URL may hold a token or a ping key, so it stays in a Secret, never in the ConfigMap.
 */
export const alertVariables = [
  "ALERT_URL",
  "ALERT_NTFY_SERVER",
  "ALERT_NTFY_TOPIC",
  "ALERT_NTFY_TOKEN",
] as const;
export type AlertVariable = (typeof alertVariables)[number];

/** The port Gatus serves its status page and API on. */
export const gatusPort = 8080;
/** Where its SQLite database lives (history only: the checks come from the config file). */
export const dataDir = "/data";
/** The environment variable holding the disk check's push token (Gatus substitutes `${...}`). */
export const diskTokenVariable = "DISK_CHECK_TOKEN";

/** The node check the disk-check job pushes: Gatus alerts when it fails or stops pushing. */
export const diskCheck = { group: "node", name: "volumes-disk", heartbeat: "30m" } as const;

/** The key of a Gatus endpoint in its API: `<group>_<name>`, each with ` /_,.#+&` replaced by `-`. */
export function endpointKey(group: string, name: string): string {
  const clean = (value: string) => value.replace(/[ /_,.#+&]/g, "-");
  return `${clean(group)}_${clean(name)}`;
}

/** Conditions every exposure's check holds: the app answers (no server error) with a certificate valid 14 more days. */
export const exposureConditions = ["[STATUS] < 500", "[CERTIFICATE_EXPIRATION] > 336h"];

/** Gatus's group of an exposure: the gateway that serves it. */
export function exposureGroup(exposure: Pick<RecordedExposure, "gateway">): string {
  return exposure.gateway === "private" ? "tailnet" : "public";
}

/**
 * The alerting provider a target maps to, its settings reading the URL from the environment:
 * ntfy's own provider (the topic's server, topic and token, from the topic's URL); a
 * healthchecks ping base through the custom provider (the monitor's own check `<check>`:
 * `/fail` when an alert triggers, a success ping when it resolves, created on first use as the
 * backup jobs' are); a webhook through the custom provider (a JSON POST).
 */
export function alertingProvider(target: AlertTarget): { type: string; settings: Record<string, unknown> } {
  const variable = (name: AlertVariable) => `\${${name}}`;
  switch (target.kind) {
    case "ntfy":
      return {
        type: "ntfy",
        settings: {
          url: variable("ALERT_NTFY_SERVER"),
          topic: variable("ALERT_NTFY_TOPIC"),
          token: variable("ALERT_NTFY_TOKEN"),
          priority: 4,
        },
      };
    case "healthchecks":
      return {
        type: "custom",
        settings: {
          url: `${variable("ALERT_URL")}/[ALERT_TRIGGERED_OR_RESOLVED]`,
          method: "POST",
          body: "[ENDPOINT_GROUP]/[ENDPOINT_NAME] [ALERT_TRIGGERED_OR_RESOLVED]: [RESULT_ERRORS]",
          placeholders: {
            ALERT_TRIGGERED_OR_RESOLVED: {
              TRIGGERED: `${target.check}/fail?create=1`,
              RESOLVED: `${target.check}?create=1`,
            },
          },
        },
      };
    case "webhook":
      return {
        type: "custom",
        settings: {
          url: variable("ALERT_URL"),
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            source: "gatus",
            state: "[ALERT_TRIGGERED_OR_RESOLVED]",
            endpoint: "[ENDPOINT_GROUP]/[ENDPOINT_NAME]",
            url: "[ENDPOINT_URL]",
            description: "[ALERT_DESCRIPTION]",
            errors: "[RESULT_ERRORS]",
          }),
        },
      };
  }
}

/** The values of the alert variables for a target's URL (empty where its kind reads none). */
export function alertValues(
  kind: NotifyKind | undefined,
  targetUrl: string | undefined,
): Record<AlertVariable, string> {
  const values: Record<AlertVariable, string> = {
    ALERT_URL: "",
    ALERT_NTFY_SERVER: "",
    ALERT_NTFY_TOPIC: "",
    ALERT_NTFY_TOKEN: "",
  };
  if (kind === undefined || targetUrl === undefined) return values;
  const url = new URL(targetUrl);
  if (kind === "ntfy") {
    // https://[:<token>@]<server>[/<path>]/<topic>: Gatus takes the server and the topic apart.
    const path = url.pathname.replace(/\/+$/, "");
    const slash = path.lastIndexOf("/");
    values.ALERT_NTFY_SERVER = `${url.protocol}//${url.host}${path.slice(0, slash)}`;
    values.ALERT_NTFY_TOPIC = path.slice(slash + 1);
    values.ALERT_NTFY_TOKEN = decodeURIComponent(url.password);
  } else {
    values.ALERT_URL = kind === "healthchecks" ? targetUrl.replace(/\/+$/, "") : targetUrl;
  }
  return values;
}

export interface GatusConfigArgs {
  /** Every hostname the stack's gateways serve. */
  exposures: RecordedExposure[];
  /** Where alerts go: the backups' target; none when the stack sets none. */
  alerts: AlertTarget | undefined;
}

/**
 * Gatus's whole configuration: one HTTPS check per exposed hostname (requested by name, so it
 * resolves as a user's request does: private names to the internal gateway, public ones to
 * Cloudflare), the disk check the node's job pushes, SQLite storage and the alerting target.
 */
export function gatusConfig(args: GatusConfigArgs): Record<string, unknown> {
  const provider = args.alerts ? alertingProvider(args.alerts) : undefined;
  const alerts = provider
    ? [{ type: provider.type, "failure-threshold": 3, "success-threshold": 2, "send-on-resolved": true }]
    : [];
  const hostnames = [...new Set(args.exposures.map((exposure) => exposure.hostname))].sort();
  const endpoints = hostnames.map((hostname) => {
    const exposure = args.exposures.find((candidate) => candidate.hostname === hostname) as RecordedExposure;
    return {
      name: hostname,
      group: exposureGroup(exposure),
      url: `https://${hostname}/`,
      interval: "5m",
      client: { timeout: "20s" },
      conditions: exposureConditions,
      ...(alerts.length > 0 ? { alerts } : {}),
    };
  });
  return {
    web: { port: gatusPort },
    storage: { type: "sqlite", path: `${dataDir}/data.db` },
    ...(provider ? { alerting: { [provider.type]: provider.settings } } : {}),
    endpoints,
    "external-endpoints": [
      {
        name: diskCheck.name,
        group: diskCheck.group,
        token: `\${${diskTokenVariable}}`,
        heartbeat: { interval: diskCheck.heartbeat },
        ...(alerts.length > 0
          ? { alerts: alerts.map((alert) => ({ ...alert, "failure-threshold": 1 })) }
          : {}),
      },
    ],
  };
}
