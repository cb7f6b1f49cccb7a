import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { renderZone, type ZoneArgs } from "./zone";

const zone = "internal.example.com";
const nameservers = [
  { server: "cloud-b", address: "10.45.0.55" },
  { server: "cloud-a", address: "10.43.0.55" },
];
const vault = { hostname: "vault.internal.example.com", address: "10.43.0.53" };
const dashboard = { hostname: "dashboard.cloud-b.internal.example.com", address: "10.45.0.53" };

const lines = (text: string) => text.split("\n").filter((line) => line !== "" && !line.startsWith(";"));
const serialOf = (text: string) => Number(/ IN SOA \S+ \S+ (\d+) /.exec(text)?.[1]);

describe("the private zone's file", () => {
  it("holds the SOA, an NS and its address per server, and an A record per name, relative to the zone's origin", () => {
    const text = renderZone({ zone, nameservers, names: [vault, dashboard] });
    const serial = serialOf(text);
    assert.deepEqual(lines(text), [
      "$ORIGIN internal.example.com.",
      "$TTL 60",
      `@ IN SOA ns.cloud-a hostmaster ${serial} 3600 600 1209600 60`,
      "@ IN NS ns.cloud-a",
      "@ IN NS ns.cloud-b",
      "ns.cloud-a IN A 10.43.0.55",
      "ns.cloud-b IN A 10.45.0.55",
      "dashboard.cloud-b IN A 10.45.0.53",
      "vault IN A 10.43.0.53",
    ]);
  });

  it("gives the zone's own name the apex's A record", () => {
    const text = renderZone({ zone, nameservers, names: [{ hostname: zone, address: "10.43.0.53" }] });
    assert.ok(lines(text).includes("@ IN A 10.43.0.53"));
  });

  it("caches answers and absences for the TTL asked for", () => {
    const text = renderZone({ zone, nameservers, names: [vault], ttl: 300 });
    assert.ok(lines(text).includes("$TTL 300"));
    assert.match(text, / 1209600 300\n/);
  });

  describe("its serial, derived from the records", () => {
    const base: ZoneArgs = { zone, nameservers, names: [vault, dashboard] };
    const serial = serialOf(renderZone(base));
    const cases: [string, ZoneArgs, boolean][] = [
      [
        "the same records in another order",
        { ...base, names: [dashboard, vault], nameservers: [...nameservers].reverse() },
        true,
      ],
      [
        "an app moved to another address",
        { ...base, names: [{ ...vault, address: "10.45.0.53" }, dashboard] },
        false,
      ],
      [
        "a name added",
        { ...base, names: [vault, dashboard, { hostname: `sync.${zone}`, address: "10.43.0.54" }] },
        false,
      ],
      ["a name removed", { ...base, names: [vault] }, false],
      [
        "a server added",
        { ...base, nameservers: [...nameservers, { server: "local-a", address: "10.47.0.55" }] },
        false,
      ],
      ["another TTL", { ...base, ttl: 120 }, false],
    ];
    for (const [change, args, same] of cases) {
      it(`${same ? "stays" : "changes"} with ${change}`, () => {
        assert.ok(Number.isInteger(serial) && serial >= 0 && serial < 2 ** 32);
        assert.equal(serialOf(renderZone(args)) === serial, same);
      });
    }
  });

  describe("refuses what would be a wrong zone, naming the culprit", () => {
    const cases: [string, Partial<ZoneArgs>, RegExp][] = [
      [
        "a name of another zone",
        { names: [{ hostname: "vault.example.org", address: "10.43.0.53" }] },
        /The private name vault\.example\.org is not in the private zone internal\.example\.com/,
      ],
      [
        "a name that only ends like the zone",
        { names: [{ hostname: "vaultinternal.example.com", address: "10.43.0.53" }] },
        /vaultinternal\.example\.com is not in the private zone internal\.example\.com/,
      ],
      [
        "a name that is not a lower-case DNS name",
        { names: [{ hostname: "Vault.internal.example.com", address: "10.43.0.53" }] },
        /"Vault\.internal\.example\.com" is not a lower-case DNS name/,
      ],
      [
        "a name with a record of its own in it",
        {
          names: [
            {
              hostname: "a.internal.example.com IN A 1.2.3.4\nb.internal.example.com",
              address: "10.43.0.53",
            },
          ],
        },
        /is not a lower-case DNS name/,
      ],
      [
        "an address that is not IPv4",
        { names: [{ hostname: vault.hostname, address: "vault" }] },
        /The address vault of the private name vault\.internal\.example\.com is not an IPv4 address/,
      ],
      [
        "a name that is a nameserver's",
        { names: [{ hostname: `ns.cloud-a.${zone}`, address: "10.43.0.53" }] },
        /ns\.cloud-a of the private zone internal\.example\.com is both the nameserver of cloud-a and the private name ns\.cloud-a\.internal\.example\.com/,
      ],
      [
        "a name twice",
        { names: [vault, { ...vault, address: "10.45.0.53" }] },
        /vault of the private zone internal\.example\.com is both the private name .* and the private name/,
      ],
      ["no nameserver", { nameservers: [] }, /The private zone internal\.example\.com needs a nameserver/],
      [
        "a zone that is no DNS name",
        { zone: "internal.example.com." },
        /The private zone "internal\.example\.com\." is not/,
      ],
    ];
    for (const [what, change, message] of cases) {
      it(what, () => {
        assert.throws(() => renderZone({ zone, nameservers, names: [vault], ...change }), message);
      });
    }
  });
});
