/** Drives an agent (agent.ts) inside a network namespace: one Node start-up per namespace, not per probe. */
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import type { AgentLine, AgentRequest, Arrival, ProbeResult } from "./agent";
import type { NetworkNamespace } from "./netns";

const requestTimeoutMs = 10_000;
const tsxLoader = pathToFileURL(require.resolve("tsx")).href;

interface Pending {
  resolve: (result: "listening" | ProbeResult) => void;
  reject: (error: Error) => void;
}

export class Agent {
  /** What reached this agent's listeners, in order of arrival. */
  readonly arrivals: Arrival[] = [];
  private readonly pending: Pending[] = [];
  private stderr = "";

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly where: string,
  ) {
    child.stderr.on("data", (data) => {
      this.stderr += data;
    });
    // Write errors mean the agent is gone; "exit" below fails what is pending.
    child.stdin.on("error", () => {});
    createInterface({ input: child.stdout }).on("line", (line) => {
      const parsed = JSON.parse(line) as AgentLine;
      if ("arrival" in parsed) this.arrivals.push(parsed.arrival);
      else this.pending.shift()?.resolve(parsed.result);
    });
    child.on("exit", (code, signal) => {
      const error = new Error(`the agent in ${where} exited (${code ?? signal}):\n${this.stderr}`);
      for (const pending of this.pending.splice(0)) pending.reject(error);
    });
  }

  /** Starts an agent in the namespace; the namespace's `destroy` ends it. */
  static start(namespace: NetworkNamespace): Agent {
    const argv = [process.execPath, "--import", tsxLoader, join(__dirname, "agent.ts")];
    return new Agent(namespace.spawn(argv), namespace.name);
  }

  /** Answers TCP on `tcpPort` and UDP on `udpPort` of every address of the namespace. */
  async listen(tcpPort: number, udpPort: number): Promise<void> {
    await this.request({ listen: { tcpPort, udpPort } });
  }

  /** Connects (TCP, sending `bytes` first) or sends a datagram (UDP) to a listening agent. */
  async probe(proto: "tcp" | "udp", host: string, port: number, bytes = 0): Promise<ProbeResult> {
    const result = await this.request({ probe: { proto, host, port, bytes } });
    if (result === "listening")
      throw new Error(`the agent in ${this.where} answered a probe with "listening"`);
    return result;
  }

  private request(request: AgentRequest): Promise<"listening" | ProbeResult> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer from the agent in ${this.where} to ${JSON.stringify(request)}`)),
        requestTimeoutMs,
      );
      this.pending.push({
        resolve: (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }
}
