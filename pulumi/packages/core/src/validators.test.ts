import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { z } from "zod";
import {
  cidrContains,
  cidrRange,
  cidrsOverlap,
  dnsLabel,
  domainName,
  email,
  ipv4,
  ipv4Cidr,
  port,
  volumeSize,
} from "./validators";

/** The messages a schema gives for a value, or [] when it accepts it. */
function problems(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => issue.message);
}

function assertAccepts(schema: z.ZodType, values: unknown[]): void {
  for (const value of values)
    assert.deepEqual(problems(schema, value), [], `rejected ${JSON.stringify(value)}`);
}

function assertRejects(schema: z.ZodType, values: unknown[], expected: RegExp): void {
  for (const value of values) {
    const found = problems(schema, value);
    assert.notDeepEqual(found, [], `accepted ${JSON.stringify(value)}`);
    for (const message of found) assert.match(message, expected, `for ${JSON.stringify(value)}`);
  }
}

describe("ipv4", () => {
  it("accepts dotted-quad addresses", () => {
    assertAccepts(ipv4, ["192.0.2.10", "0.0.0.0", "255.255.255.255", "10.42.0.1"]);
  });

  it("rejects out-of-range octets, leading zeros, missing octets and non-strings, saying what is expected", () => {
    assertRejects(
      ipv4,
      [
        "256.0.0.1",
        "10.042.0.1",
        "10.0.0",
        "10.0.0.1.2",
        "10.0.0.1/32",
        " 10.0.0.1",
        "",
        167772161,
        undefined,
      ],
      /^expected an IPv4 address such as 192\.0\.2\.10/,
    );
  });

  it("names what is wrong with an address", () => {
    assert.deepEqual(problems(ipv4, "10.0.278.1"), [
      "expected an IPv4 address such as 192.0.2.10: octet 278 of 10.0.278.1 is out of range (0-255)",
    ]);
    assert.match(problems(ipv4, "10.0.0")[0] ?? "", /: 10\.0\.0 has 3 octets, not 4$/);
    assert.match(problems(ipv4, "10.042.0.1")[0] ?? "", /: octet 042 of 10\.042\.0\.1 has a leading zero$/);
  });
});

describe("ipv4Cidr", () => {
  it("accepts networks given by their network address", () => {
    assertAccepts(ipv4Cidr, ["10.42.0.0/16", "10.43.0.0/16", "192.168.1.0/24", "10.0.0.1/32", "0.0.0.0/0"]);
  });

  it("rejects host addresses, bad prefixes and bad addresses, saying what is expected", () => {
    assertRejects(
      ipv4Cidr,
      [
        "10.42.0.1/16",
        "10.42.0.0/33",
        "10.42.0.0",
        "10.42.0.0/",
        "10.42.0/16",
        "300.0.0.0/8",
        "10.42.0.0/16 ",
        undefined,
      ],
      /^expected an IPv4 network in CIDR form such as 10\.42\.0\.0\/16/,
    );
  });

  it("names the real problem of a network: the octet, the prefix, or the network address it meant", () => {
    const [octet] = problems(ipv4Cidr, "10.278.0.0/16");
    assert.match(octet ?? "", /: octet 278 of 10\.278\.0\.0 is out of range \(0-255\)$/);
    assert.match(
      problems(ipv4Cidr, "10.42.0.0/33")[0] ?? "",
      /: prefix length \/33 is out of range \(0-32\)$/,
    );
    assert.match(
      problems(ipv4Cidr, "10.42.0.1/16")[0] ?? "",
      /: 10\.42\.0\.1 is not the first address of a \/16 \(that is 10\.42\.0\.0\)$/,
    );
    assert.match(
      problems(ipv4Cidr, "10.42.0.0")[0] ?? "",
      /: 10\.42\.0\.0 has no prefix length \(such as \/16\)$/,
    );
  });
});

describe("volumeSize", () => {
  it("accepts what Kubernetes accepts as a size: binary and decimal suffixes, fractions", () => {
    assertAccepts(volumeSize, ["10Gi", "20G", "1.5Ti", "500M", "2048Mi"]);
  });

  it("rejects what is no quantity, naming it", () => {
    assert.match(problems(volumeSize, "10GB")[0] ?? "", /^expected a volume size.*: 10GB is not a quantity/);
    assert.match(problems(volumeSize, "0Gi")[0] ?? "", /: 0Gi is less than one byte$/);
  });
});

describe("domainName", () => {
  it("accepts lower-case names of two labels or more", () => {
    assertAccepts(domainName, ["example.com", "apps.home.example.org", "a-b.example.io", "1password.com"]);
  });

  it("rejects upper case, single labels, bad dashes and trailing dots, saying what is expected", () => {
    assertRejects(
      domainName,
      [
        "Example.com",
        "localhost",
        "-a.example.com",
        "a-.example.com",
        "example.com.",
        "exa mple.com",
        "example.c0m",
      ],
      /^expected a lower-case DNS name such as example\.com$/,
    );
  });

  it("rejects a label longer than 63 characters", () => {
    assert.deepEqual(problems(domainName, `${"a".repeat(63)}.com`), []);
    assert.notDeepEqual(problems(domainName, `${"a".repeat(64)}.com`), []);
  });
});

describe("dnsLabel", () => {
  it("accepts lower-case letters, digits and inner dashes up to 63 characters", () => {
    assertAccepts(dnsLabel, ["cloud-a", "local-a", "a", "a1", "a".repeat(63)]);
  });

  it("rejects dots, upper case, edge dashes and over-long labels, saying what is expected", () => {
    assertRejects(
      dnsLabel,
      ["cloud.a", "Cloud-a", "-cloud", "cloud-", "", "a".repeat(64), undefined],
      /^expected a DNS label such as cloud-a/,
    );
  });
});

describe("email", () => {
  it("accepts an address and rejects anything else, saying what is expected", () => {
    assertAccepts(email, ["admin@example.com", "first.last+acme@mail.example.org"]);
    assertRejects(
      email,
      ["admin", "admin@", "@example.com", "admin@example", undefined],
      /^expected an e-mail address/,
    );
  });
});

describe("port", () => {
  it("accepts whole numbers from 1 to 65535 only", () => {
    assertAccepts(port, [1, 22, 443, 65535]);
    for (const value of [0, 65536, -1, 22.5, "22"]) {
      assert.notDeepEqual(problems(port, value), [], `accepted ${JSON.stringify(value)}`);
    }
  });
});

describe("cidrRange", () => {
  it("gives the first and last address of a network as numbers", () => {
    assert.deepEqual(cidrRange("10.42.0.0/16"), [0x0a2a0000, 0x0a2affff]);
    assert.deepEqual(cidrRange("192.0.2.10/32"), [0xc000020a, 0xc000020a]);
    assert.deepEqual(cidrRange("0.0.0.0/0"), [0, 0xffffffff]);
  });
});

describe("cidrsOverlap", () => {
  it("finds ranges that share an address, whichever comes first", () => {
    assert.equal(cidrsOverlap("10.42.0.0/16", "10.42.0.0/16"), true);
    assert.equal(cidrsOverlap("10.42.0.0/15", "10.43.0.0/16"), true);
    assert.equal(cidrsOverlap("10.43.0.0/16", "10.42.0.0/15"), true);
    assert.equal(cidrsOverlap("10.0.0.0/8", "10.43.128.0/24"), true);
  });

  it("does not report adjacent or distant ranges", () => {
    assert.equal(cidrsOverlap("10.42.0.0/16", "10.43.0.0/16"), false);
    assert.equal(cidrsOverlap("10.43.0.0/16", "10.42.0.0/16"), false);
    assert.equal(cidrsOverlap("10.42.0.0/16", "192.168.0.0/16"), false);
    assert.equal(cidrsOverlap("10.42.255.255/32", "10.43.0.0/32"), false);
  });
});

describe("cidrContains", () => {
  it("includes the first and last address of the range and nothing outside it", () => {
    assert.equal(cidrContains("10.43.0.0/16", "10.43.0.10"), true);
    assert.equal(cidrContains("10.43.0.0/16", "10.43.0.0"), true);
    assert.equal(cidrContains("10.43.0.0/16", "10.43.255.255"), true);
    assert.equal(cidrContains("10.43.0.0/16", "10.44.0.0"), false);
    assert.equal(cidrContains("10.43.0.0/16", "10.42.255.255"), false);
  });
});
