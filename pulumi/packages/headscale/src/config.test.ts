import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { type HeadscaleConfigArgs, renderHeadscaleConfig } from "./config";

const args: HeadscaleConfigArgs = {
  serverUrl: "https://headscale.example.com:8443",
  port: 8443,
  publicIp: "203.0.113.10",
  baseDomain: "tailnet.internal.example.com",
  reservedZones: ["example.com", "internal.example.com"],
  nameservers: ["1.1.1.1", "1.0.0.1"],
};

describe("renderHeadscaleConfig", () => {
  const config = parse(renderHeadscaleConfig(args));

  it("serves the login URL with HTTPS on its port, from cert-manager's certificate files", () => {
    assert.equal(config.server_url, "https://headscale.example.com:8443");
    assert.equal(config.listen_addr, "0.0.0.0:8443");
    assert.equal(config.tls_cert_path, "/etc/headscale-tls/tls.crt");
    assert.equal(config.tls_key_path, "/etc/headscale-tls/tls.key");
    assert.equal(config.tls_letsencrypt_hostname, undefined, "no ACME of Headscale's own");
  });

  it("keeps gRPC and metrics on localhost: remote tools use the REST API, the CLI the socket", () => {
    assert.equal(config.grpc_listen_addr, "127.0.0.1:50443");
    assert.equal(config.metrics_listen_addr, "127.0.0.1:9090");
    assert.equal(config.unix_socket, "/var/run/headscale/headscale.sock");
  });

  it("relays through its embedded DERP server (STUN on 3478) and takes no DERP map from Tailscale", () => {
    assert.deepEqual(config.derp.server.enabled, true);
    assert.equal(config.derp.server.stun_listen_addr, "0.0.0.0:3478");
    assert.equal(config.derp.server.ipv4, "203.0.113.10");
    assert.equal(config.derp.server.automatically_add_embedded_derp_region, true);
    assert.deepEqual(config.derp.urls, []);
    assert.deepEqual(config.derp.paths, []);
    assert.equal(config.derp.auto_update_enabled, false);
  });

  it("asks nothing of Tailscale's or GitHub's services: no update check, no logtail", () => {
    assert.equal(config.disable_check_updates, true);
    assert.deepEqual(config.logtail, { enabled: false });
  });

  it("keeps its private keys on the data volume", () => {
    assert.equal(config.noise.private_key_path, "/var/lib/headscale/noise_private.key");
    assert.equal(config.derp.server.private_key_path, "/var/lib/headscale/derp_server_private.key");
  });

  it("uses PostgreSQL with no connection detail in the file (they come from the environment)", () => {
    assert.deepEqual(config.database, { type: "postgres", postgres: { ssl: false } });
  });

  it("reads the policy from its file", () => {
    assert.deepEqual(config.policy, { mode: "file", path: "/etc/headscale-policy/policy.json" });
  });

  it("serves MagicDNS under the base domain, every query through its resolver, and the extra records from their file", () => {
    assert.deepEqual(config.dns, {
      magic_dns: true,
      base_domain: "tailnet.internal.example.com",
      override_local_dns: true,
      nameservers: { global: ["1.1.1.1", "1.0.0.1"], split: {} },
      search_domains: [],
      extra_records_path: "/etc/headscale-dns/extra-records.json",
    });
  });

  it("refuses a base domain the server's own name lies in (Headscale's isSafeServerURL)", () => {
    assert.throws(
      () => renderHeadscaleConfig({ ...args, baseDomain: "example.com" }),
      /would take over the server's own name headscale\.example\.com/,
    );
    assert.throws(
      () => renderHeadscaleConfig({ ...args, baseDomain: "headscale.example.com" }),
      /server's own name/,
    );
  });

  it("refuses a base domain that is the private zone or would take it over", () => {
    assert.throws(
      () =>
        renderHeadscaleConfig({
          ...args,
          serverUrl: "https://hs.other.net:8443",
          baseDomain: "internal.example.com",
        }),
      /would take over the zone internal\.example\.com/,
    );
  });

  it("needs a global nameserver, which override_local_dns requires", () => {
    assert.throws(
      () => renderHeadscaleConfig({ ...args, nameservers: [] }),
      /at least one global nameserver/,
    );
  });
});
