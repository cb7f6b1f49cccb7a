import * as cloudflare from "@pulumi/cloudflare";
import * as tailscale from "@pulumi/tailscale";
import { requireStackOutput } from "./stack-reference";

let cloudflareProvider: cloudflare.Provider | undefined;
let tailscaleProvider: tailscale.Provider | undefined;

/** The Cloudflare provider, with the API token kept (secret) in the `shared` project. */
export function getCloudflareProvider(): cloudflare.Provider {
  cloudflareProvider ??= new cloudflare.Provider("cloudflare", {
    apiToken: requireStackOutput<string>("shared", "cloudflareApiToken"),
  });
  return cloudflareProvider;
}

/** The Cloudflare zone id of the server's domain. */
export function getCloudflareZoneId() {
  return requireStackOutput<{ zoneId: string }>("shared", "cloudflare").apply((zone) => zone.zoneId);
}

/** The Tailscale provider, authenticated with the OAuth client kept in the `shared` project. */
export function getTailscaleProvider(): tailscale.Provider {
  tailscaleProvider ??= new tailscale.Provider("tailscale", {
    oauthClientId: requireStackOutput<{ oauthClientId: string }>("shared", "tailscale").apply(
      (settings) => settings.oauthClientId,
    ),
    oauthClientSecret: requireStackOutput<string>("shared", "tailscaleOauthClientSecret"),
    // "-" is the tailnet the OAuth client belongs to.
    tailnet: "-",
  });
  return tailscaleProvider;
}
