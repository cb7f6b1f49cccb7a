import { randomString } from "@infra/app-secrets";

/**
 * What Plane's data depends on, the same on every server, generated once for the app (never the
 * public defaults of Plane's chart and compose files):
 * - `secretKey`, Django's `SECRET_KEY`: it signs sessions and derives the key Plane encrypts its
 *   instance settings with (SMTP password, OAuth client secrets: `plane/license/utils/encryption.py`),
 *   so another one makes them unreadable;
 * - `liveServerSecretKey`, `LIVE_SERVER_SECRET_KEY`: the key the API and the worker present to the
 *   live (collaboration) server.
 */
export const secrets = {
  secretKey: randomString(50),
  liveServerSecretKey: randomString(32),
};
