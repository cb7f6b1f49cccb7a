import { z } from "zod";

/**
 * Whether this stack manages the zone's TLS settings. The zone is shared by every stack, so
 * exactly one stack per zone does (synth fails when two render them).
 * @default false
 */
export const ownsZoneSettingsConfig = z.boolean().default(false);

/** The zone settings the owning stack may tune; the rest are fixed (zone.ts). */
export const zoneSettingsConfig = z
  .strictObject({
    /**
     * The oldest TLS version Cloudflare's edge accepts from visitors.
     * @default "1.2"
     */
    minTlsVersion: z.enum(["1.2", "1.3"]).default("1.2"),
  })
  .default({ minTlsVersion: "1.2" });

export type ZoneSettings = z.output<typeof zoneSettingsConfig>;

/** A year, the max-age hstspreload.org asks for and browsers keep (RFC 6797 leaves it to the site). */
const oneYear = 31_536_000;

/**
 * The Strict-Transport-Security header of public apps: sent by the gateway on every public route,
 * and by Cloudflare's edge when this stack owns the zone settings (which then wins, so every
 * stack should set the same).
 */
export const hstsConfig = z
  .strictObject({
    /**
     * Seconds browsers keep to HTTPS only.
     * @default 31536000 (a year)
     */
    maxAge: z.number().int().min(0).default(oneYear),
    /**
     * Also every subdomain of the app's name, including names outside this platform.
     * @default false
     */
    includeSubdomains: z.boolean().default(false),
  })
  .default({ maxAge: oneYear, includeSubdomains: false });

export type Hsts = z.output<typeof hstsConfig>;

/** The header value, as RFC 6797 section 6.1 writes it. */
export function hstsHeader(hsts: Hsts): string {
  return `max-age=${hsts.maxAge}${hsts.includeSubdomains ? "; includeSubDomains" : ""}`;
}
