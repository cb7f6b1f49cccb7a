import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { connectionUrl, encodeUrlComponent } from "./url";

const awkward = {
  user: "app user:@/?#%",
  password: `p@ss:w/rd?#'"\\ $(x) %41 ünï ✓`,
  database: `shop's "data"/x`,
};

describe("connectionUrl", () => {
  it("percent-encodes every character of user, password and database that a URL gives a meaning", () => {
    const url = connectionUrl({ scheme: "postgresql", host: "db.svc", port: 5432, ...awkward });
    assert.equal(
      url,
      "postgresql://app%20user%3A%40%2F%3F%23%25:p%40ss%3Aw%2Frd%3F%23%27%22%5C%20%24%28x%29%20%2541%20%C3%BCn%C3%AF%20%E2%9C%93" +
        "@db.svc:5432/shop%27s%20%22data%22%2Fx",
    );
  });

  it("round-trips through a URL parser to the exact user, password and database", () => {
    const parsed = new URL(connectionUrl({ scheme: "mysql", host: "db.svc", port: 3306, ...awkward }));
    assert.equal(parsed.protocol, "mysql:");
    assert.equal(parsed.hostname, "db.svc");
    assert.equal(parsed.port, "3306");
    assert.equal(decodeURIComponent(parsed.username), awkward.user);
    assert.equal(decodeURIComponent(parsed.password), awkward.password);
    assert.equal(decodeURIComponent(parsed.pathname.slice(1)), awkward.database);
  });

  it("leaves letters, digits and RFC 3986's other unreserved characters as they are", () => {
    assert.equal(encodeUrlComponent("Az09-._~"), "Az09-._~");
  });

  it("encodes the characters encodeURIComponent leaves alone", () => {
    assert.equal(encodeUrlComponent("!'()*"), "%21%27%28%29%2A");
  });
});
