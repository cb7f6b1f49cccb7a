import { ConfigError, readConfig } from "@infra/core";
import { getCloudflareProvider, getCloudflareZoneId } from "@projects/common";
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { type Hsts, ownsZoneSettingsConfig, type ZoneSettings, zoneSettingsConfig } from "./config";

/** The zone settings config, read on the owning stack and refused anywhere else (it would be ignored). */
export function readZoneSettings(): ZoneSettings | undefined {
  if (readConfig("ownsZoneSettings", ownsZoneSettingsConfig))
    return readConfig("zoneSettings", zoneSettingsConfig);
  if (new pulumi.Config().get("zoneSettings") !== undefined) {
    throw new ConfigError(
      `Config "public-gateway:zoneSettings" is set on stack "${pulumi.getStack()}", but this stack does not ` +
        "manage the zone's settings (public-gateway:ownsZoneSettings is false): move it to the owning stack.",
    );
  }
  return undefined;
}

/**
 * The zone's settings, by Cloudflare setting id (https://developers.cloudflare.com/api/resources/
 * zones/subresources/settings/). Nested keys stay in the API's snake case: the provider passes
 * `value` through as it is (pulumi/pulumi-cloudflare#1579).
 */
export function zoneSettingValues(settings: ZoneSettings, hsts: Hsts): Record<string, unknown> {
  return {
    // Full (strict): Cloudflare connects to the origin over TLS and checks its certificate, which
    // cert-manager issues from a public CA for every public app.
    ssl: "strict",
    min_tls_version: settings.minTlsVersion,
    // Visitors' plain HTTP is redirected at the edge, before it reaches an origin.
    always_use_https: "on",
    security_header: {
      strict_transport_security: {
        enabled: true,
        max_age: hsts.maxAge,
        include_subdomains: hsts.includeSubdomains,
        // Preloading is a commitment browsers ship for months; it stays a decision made by hand.
        preload: false,
        nosniff: false,
      },
    },
    // Authenticated Origin Pulls: Cloudflare presents its client certificate to every origin,
    // which the public gateway requires (cloudflareOriginPullCa).
    tls_client_auth: "on",
  };
}

/** Manages the zone's settings: one resource per setting, on the owning stack only. */
export function createZoneSettings(settings: ZoneSettings, hsts: Hsts): cloudflare.ZoneSetting[] {
  const zoneId = getCloudflareZoneId();
  return Object.entries(zoneSettingValues(settings, hsts)).map(
    ([settingId, value]) =>
      new cloudflare.ZoneSetting(
        `zone-setting-${settingId}`,
        { zoneId, settingId, value },
        { provider: getCloudflareProvider() },
      ),
  );
}
