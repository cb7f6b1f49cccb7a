import { withheldPathsAnnotation } from "@projects/common/src/exposure";
import { normalizedName } from "./cross-stack";
import type { StackObject } from "./meaning";

/** The project whose GatewayClasses are the internet-facing ones (Traefik behind Cloudflare). */
export const publicGatewayProject = "public-gateway";

/** A DNS record a stack renders, as far as this check reads it. */
export interface StackDnsRecord {
  project: string;
  name: string;
  proxied: boolean;
}

type Manifest = Record<string, any>;
type Problem = { project: string; message: string };

interface PathMatch {
  type: "Exact" | "PathPrefix" | "RegularExpression";
  value: string;
}

/** Whether a Gateway API path match matches a request path (PathPrefix matches by path element). */
function matchesPath(match: PathMatch, path: string): boolean {
  if (match.type === "Exact") return path === match.value;
  if (match.type === "RegularExpression") return true;
  const prefix = match.value.replace(/\/+$/, "");
  return prefix === "" || path === prefix || path.startsWith(`${prefix}/`);
}

function ruleMatches(rule: Manifest): PathMatch[] {
  const matches: Manifest[] = rule.matches ?? [{}];
  return matches.map((match) => ({
    type: match.path?.type ?? "PathPrefix",
    value: match.path?.value ?? "/",
  }));
}

/**
 * The rule Gateway API gives a request path: an exact match first, then the longest matching
 * prefix (HTTPRouteRule's precedence); a regular expression, which cannot be ranked here, counts
 * as matching with top precedence, so a forwarding one is never missed.
 */
function selectedRule(rules: Manifest[], path: string): Manifest | undefined {
  let best: { rule: Manifest; rank: number } | undefined;
  for (const rule of rules) {
    for (const match of ruleMatches(rule)) {
      if (!matchesPath(match, path)) continue;
      const rank =
        match.type === "RegularExpression"
          ? Number.MAX_SAFE_INTEGER
          : match.type === "Exact"
            ? Number.MAX_SAFE_INTEGER - 1
            : match.value.replace(/\/+$/, "").length;
      if (!best || rank > best.rank) best = { rule, rank };
    }
  }
  return best?.rule;
}

/**
 * The request paths under `prefix` that reach a backend through `rules`. Probing the prefix itself,
 * a path below it and every rule's match value below it covers every path under it: between those
 * values the longest matching prefix, and so the selected rule, does not change.
 */
function forwardedPathsUnder(rules: Manifest[], prefix: string): string[] {
  const base = prefix.replace(/\/+$/, "") || "/";
  const probes = new Set([base, `${base}/withheld-probe`]);
  for (const rule of rules) {
    for (const match of ruleMatches(rule)) {
      if (match.type !== "RegularExpression" && matchesPath({ type: "PathPrefix", value: base }, match.value))
        probes.add(match.value);
    }
  }
  return [...probes].filter((path) => (selectedRule(rules, path)?.backendRefs ?? []).length > 0);
}

/**
 * Checks each public app's exposure as the internet sees it: every hostname of a Gateway of a
 * public class has a DNS record, and that record is proxied by Cloudflare (the public gateway only
 * accepts Cloudflare's connections, and an unproxied record would publish the server's address);
 * a route attached to a public Gateway is attached to no other (a route on both would carry the
 * same paths into the tailnet's gateway and out to the internet); and no path a route withholds
 * (the app's admin surface) reaches a backend through a public route.
 */
export function checkPublicExposure(objects: StackObject[], records: StackDnsRecord[]): Problem[] {
  const problems: Problem[] = [];
  const publicClasses = new Set(
    objects
      .filter(({ project, object }) => project === publicGatewayProject && object.kind === "GatewayClass")
      .map(({ object }) => object.metadata?.name as string),
  );
  const gatewayKey = (namespace: string, name: string) => `${namespace}/${name}`;
  const publicGateways = new Set<string>();
  for (const { project, object } of objects) {
    if (object.kind !== "Gateway" || !publicClasses.has(object.spec?.gatewayClassName)) continue;
    const { namespace, name } = object.metadata;
    publicGateways.add(gatewayKey(namespace, name));
    const hostnames = new Set<string>(
      (object.spec.listeners ?? []).flatMap((listener: Manifest) => listener.hostname ?? []),
    );
    for (const hostname of hostnames) {
      const record = records.find((candidate) => normalizedName(candidate.name) === normalizedName(hostname));
      const where = `Gateway ${namespace}/${name}: hostname ${hostname}`;
      if (!record) {
        problems.push({
          project,
          message: `${where}: no DNS record of this stack points at the public gateway`,
        });
      } else if (!record.proxied) {
        problems.push({
          project: record.project,
          message: `${where}: its DNS record is not proxied by Cloudflare, so it would publish the server's address and bypass the proxy the public gateway only accepts`,
        });
      }
    }
  }

  for (const { project, object } of objects) {
    if (object.kind !== "HTTPRoute") continue;
    const { namespace, name } = object.metadata;
    const parents: { key: string; isPublic: boolean }[] = (object.spec?.parentRefs ?? [])
      .filter((ref: Manifest) => (ref.kind ?? "Gateway") === "Gateway")
      .map((ref: Manifest) => {
        const key = gatewayKey(ref.namespace ?? namespace, ref.name);
        return { key, isPublic: publicGateways.has(key) };
      });
    if (!parents.some((parent) => parent.isPublic)) continue;
    const where = `HTTPRoute ${namespace}/${name}`;
    const others = parents.filter((parent) => !parent.isPublic).map((parent) => parent.key);
    if (others.length > 0) {
      problems.push({
        project,
        message: `${where}: spec.parentRefs: attached to a public Gateway and to ${others.join(", ")}: a public route is attached to the public gateway only`,
      });
    }
    const withheld = String(object.metadata.annotations?.[withheldPathsAnnotation] ?? "")
      .split(",")
      .filter((path) => path !== "");
    for (const prefix of withheld) {
      const forwarded = forwardedPathsUnder(object.spec.rules ?? [], prefix);
      if (forwarded.length > 0) {
        problems.push({
          project,
          message: `${where}: spec.rules: ${forwarded.join(", ")} reach a backend, but the app keeps ${prefix} off its public route (${withheldPathsAnnotation})`,
        });
      }
    }
  }
  return problems;
}
