import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { defaultsAsk, MissingValue, promptAsk } from "./ask";

/** Prompts on streams: what is typed goes in, what the prompt shows is collected. */
function terminal() {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = "";
  output.on("data", (chunk: Buffer) => {
    shown += chunk.toString();
  });
  // Keys are typed once the prompt shows its question: before that, nothing reads them.
  const type = async (keys: string, after: string) => {
    while (!shown.includes(after)) await new Promise((resolve) => setTimeout(resolve, 5));
    input.write(keys);
  };
  return { ask: promptAsk({ input, output }), type, shown: () => shown };
}

describe("the prompts", () => {
  it("offer a choice's default, which Enter accepts", async () => {
    const { ask, type } = terminal();
    const answer = ask.choose({
      flag: "--role",
      message: "Its role",
      choices: ["cloud", "home"],
      default: "home",
    });
    await type("\r", "Its role");
    assert.equal(await answer, "home");
  });

  it("re-ask a text the check refuses, showing why, and take the next one", async () => {
    const { ask, type, shown } = terminal();
    const answer = ask.text({
      flag: "--node",
      message: "The node",
      check: (value) => (value === "pve" ? undefined : "expected pve"),
    });
    await type("xyz\r", "The node");
    await type("\b\b\bpve\r", "expected pve");
    assert.equal(await answer, "pve");
    assert.match(shown(), /expected pve/);
  });

  it("accept a text's default on Enter", async () => {
    const { ask, type } = terminal();
    const answer = ask.text({
      flag: "--cluster-cidr",
      message: "Pods",
      default: "10.48.0.0/16",
      check: () => undefined,
    });
    await type("\r", "Pods");
    assert.equal(await answer, "10.48.0.0/16");
  });

  it("with --yes, take the defaults and name the flag of a value without one", async () => {
    assert.equal(
      await defaultsAsk.confirm({ flag: "--public/--no-public", message: "", default: false }),
      false,
    );
    await assert.rejects(
      defaultsAsk.text({ flag: "--node", message: "", check: () => undefined }),
      (error: unknown) =>
        error instanceof MissingValue && /--node is required with --yes/.test(error.message),
    );
  });
});
