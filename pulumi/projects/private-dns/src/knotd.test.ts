import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type KnotServer, knotdSkip, startKnotd } from "./testing/knotd";
import { renderZone } from "./zone";

const zone = "internal.example.com";
const names = [
  { hostname: "vault.internal.example.com", address: "10.43.0.53" },
  { hostname: "dashboard.cloud-b.internal.example.com", address: "10.45.0.53" },
  { hostname: "sync.internal.example.com", address: "10.43.0.54" },
];
const nameservers = [
  { server: "cloud-a", address: "10.43.0.55" },
  { server: "cloud-b", address: "10.45.0.55" },
];

describe("the private DNS, answering for real (Debian's knotd with the rendered knot.conf and zone)", {
  skip: knotdSkip(),
}, () => {
  let knotd: KnotServer | undefined;
  const query = (name: string, type: string, transport: "udp" | "tcp") => {
    if (!knotd) throw new Error("knotd did not start");
    return knotd.query(name, type, transport);
  };
  before(
    async () => {
      knotd = await startKnotd(zone, renderZone({ zone, nameservers, names }));
    },
    { timeout: 90_000 },
  );
  after(() => knotd?.stop(), { timeout: 30_000 });

  it("runs as a user who is not root, reading its configuration and writing its scratch directories only, as in the pod", () => {
    const status = readFileSync(`/proc/${knotd?.pid}/status`, "utf8");
    assert.notEqual(/^Uid:\s+(\d+)/m.exec(status)?.[1], "0", status);
    assert.match(knotd?.log() ?? "", /server started in the foreground/);
  });

  for (const transport of ["udp", "tcp"] as const) {
    describe(`over ${transport.toUpperCase()}`, () => {
      for (const name of names) {
        it(`answers ${name.hostname} with its address ${name.address}, authoritatively, with the short TTL`, async () => {
          const answer = await query(name.hostname, "A", transport);
          assert.equal(answer.status, "NOERROR", answer.output);
          assert.ok(answer.flags.includes("aa"), answer.output);
          assert.deepEqual(answer.answer, [`${name.hostname}. 60 IN A ${name.address}`]);
        });
      }

      it("answers a name of the zone it does not hold with NXDOMAIN, and the SOA for resolvers to cache it briefly", async () => {
        const answer = await query(`missing.${zone}`, "A", transport);
        assert.equal(answer.status, "NXDOMAIN", answer.output);
        assert.ok(answer.flags.includes("aa"), answer.output);
        assert.equal(answer.authority.length, 1, answer.output);
        assert.match(answer.authority[0] ?? "", new RegExp(`^${zone}\\. 60 IN SOA .* 60$`));
      });

      it("refuses a public name: it is authoritative for the private zone only and resolves nothing", async () => {
        const answer = await query("example.org", "A", transport);
        assert.equal(answer.status, "REFUSED", answer.output);
        assert.ok(!answer.flags.includes("aa"), answer.output);
        assert.ok(!answer.flags.includes("ra"), answer.output);
        assert.deepEqual(answer.answer, []);
      });

      it("serves the zone's SOA and every server's nameserver", async () => {
        const soa = await query(zone, "SOA", transport);
        assert.equal(soa.status, "NOERROR", soa.output);
        assert.ok(soa.flags.includes("aa"), soa.output);
        assert.match(
          soa.answer[0] ?? "",
          new RegExp(`^${zone}\\. 60 IN SOA ns\\.cloud-a\\.${zone}\\. hostmaster\\.${zone}\\. \\d+ `),
        );
        const ns = await query(zone, "NS", transport);
        assert.deepEqual(ns.answer.sort(), [
          `${zone}. 60 IN NS ns.cloud-a.${zone}.`,
          `${zone}. 60 IN NS ns.cloud-b.${zone}.`,
        ]);
        const cloudB = await query(`ns.cloud-b.${zone}`, "A", transport);
        assert.deepEqual(cloudB.answer, [`ns.cloud-b.${zone}. 60 IN A 10.45.0.55`]);
      });
    });
  }

  it("refuses to transfer the zone (AXFR) to anyone: no ACL allows it", async () => {
    const transfer = await query(zone, "AXFR", "tcp");
    assert.match(transfer.output, /server replied with error 'NOTAUTH'/);
    assert.doesNotMatch(transfer.output, /IN\s+A\s+10\./);
  });
});
