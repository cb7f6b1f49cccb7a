/**
 * A test program started once inside a network namespace (`node --import tsx agent.ts`). It reads one
 * JSON request per line on stdin and answers each with one `{"result": ...}` line on stdout:
 *
 * - `{"listen":{"tcpPort":80,"udpPort":53}}` → `"listening"`. From then on it stands in for servers on
 *   the internet: it answers every TCP connection and UDP datagram with the source address it saw and
 *   reports each as an `{"arrival":{"proto":"tcp","from":"10.0.0.2"}}` line, in order of arrival.
 * - `{"probe":{"proto":"tcp","host":"192.0.2.80","port":80,"bytes":0}}` (or `"udp"`) → `{"seenSource":...}`
 *   with the listener's answer, or `{"error":"EHOSTUNREACH"}`; TCP probes send `bytes` bytes first and
 *   answer once the connection is closed (every byte delivered). Gives up after 3 s.
 */
import { createSocket } from "node:dgram";
import { connect, createServer } from "node:net";
import { createInterface } from "node:readline";

export type AgentRequest =
  | { listen: { tcpPort: number; udpPort: number } }
  | { probe: { proto: "tcp" | "udp"; host: string; port: number; bytes: number } };

export type ProbeResult = { seenSource: string } | { error: string };

export interface Arrival {
  proto: "tcp" | "udp";
  from: string;
}

export type AgentLine = { result: "listening" | ProbeResult } | { arrival: Arrival };

const probeTimeoutMs = 3000;

function emit(line: AgentLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function listen(tcpPort: number, udpPort: number): Promise<void> {
  const tcp = createServer((socket) => {
    emit({ arrival: { proto: "tcp", from: socket.remoteAddress ?? "" } });
    socket.on("error", () => socket.destroy());
    // Consumes what the client sends (a probe's payload) until it closes.
    socket.on("data", () => {});
    socket.end(`${socket.remoteAddress}\n`);
  });
  const udp = createSocket("udp4");
  udp.on("message", (_message, peer) => {
    emit({ arrival: { proto: "udp", from: peer.address } });
    udp.send(`${peer.address}\n`, peer.port, peer.address);
  });
  return Promise.all([
    new Promise<void>((resolve) => tcp.listen(tcpPort, "0.0.0.0", resolve)),
    new Promise<void>((resolve) => udp.bind(udpPort, "0.0.0.0", resolve)),
  ]).then(() => undefined);
}

function probe(proto: "tcp" | "udp", host: string, port: number, bytes: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const cleanups: (() => void)[] = [];
    let done = false;
    const finish = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const cleanup of cleanups) cleanup();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ error: "timeout" }), probeTimeoutMs);
    const failed = (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message });

    if (proto === "tcp") {
      let reply = "";
      const socket = connect(port, host, () => socket.end(Buffer.alloc(bytes)));
      cleanups.push(() => socket.destroy());
      socket.on("data", (data) => {
        reply += data;
      });
      socket.on("error", failed);
      socket.on("close", () =>
        finish(reply ? { seenSource: reply.trim() } : { error: "closed without a reply" }),
      );
    } else {
      const socket = createSocket("udp4");
      cleanups.push(() => socket.close());
      socket.on("message", (reply) => finish({ seenSource: reply.toString().trim() }));
      socket.on("error", failed);
      socket.send("probe", port, host);
    }
  });
}

async function handle(request: AgentRequest): Promise<"listening" | ProbeResult> {
  if ("listen" in request) {
    await listen(request.listen.tcpPort, request.listen.udpPort);
    return "listening";
  }
  const { proto, host, port, bytes } = request.probe;
  return probe(proto, host, port, bytes);
}

// One request at a time, in order, so the n-th result answers the n-th request.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => emit({ result: await handle(JSON.parse(line) as AgentRequest) }));
});
