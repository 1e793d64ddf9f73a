// The relay process. It runs inside the lab's network namespace (started with `ip netns
// exec`) and receives, over Node's IPC channel, listening sockets that were created in the
// root namespace on 127.0.0.1. Sockets keep the namespace they were created in, so it accepts
// on loopback and connects to hosts' private addresses. It outlives its parent (`lab:up`).
import * as net from "node:net";

interface ForwardMessage {
  type: "forward";
  id: number;
  host: string;
  port: number;
}

function pipeTo(client: net.Socket, host: string, port: number): void {
  const upstream = net.connect({ host, port });
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
  client.pipe(upstream);
  upstream.pipe(client);
}

process.on("message", (msg: ForwardMessage, handle: unknown) => {
  if (msg?.type !== "forward" || !(handle instanceof net.Server)) return;
  handle.on("connection", (client: net.Socket) => pipeTo(client, msg.host, msg.port));
  process.send?.({ type: "ready", id: msg.id });
});

// Losing the parent is normal (lab:up exits); keep serving.
process.on("disconnect", () => undefined);
process.on("SIGTERM", () => process.exit(0));
