// The demo's fixed loopback SSH ports (127.0.0.1:2201, 2202, 2203 by default), so the stack's
// host entries and the printed commands stay the same for the demo's whole life. The lab's own
// relay (test/lab/hosts/relay-main.ts) does the work: a process inside the lab's network
// namespace that receives listening sockets made here, in the root namespace, over Node's IPC
// channel. It runs in the lab's namespace, so removing the lab ends it too.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { waitForSshBanner } from "../../test/lab/hosts/relay";
import { REPO } from "./paths";

export interface Forward {
  /** 127.0.0.1 port in this (root) network namespace. */
  port: number;
  /** Address and port inside the lab's namespace. */
  host: string;
  hostPort: number;
}

/**
 * Starts a relay in network namespace `netns` serving every forward, and waits until each
 * port accepts. The relay outlives this process. Throws naming the port when one cannot be
 * listened on (taken) or the relay does not take it within 30 s; `logFile` has the relay's output.
 */
export async function startFixedRelay(
  netns: string,
  forwards: Forward[],
  logFile: string,
): Promise<void> {
  const log = fs.openSync(logFile, "a");
  const script = path.join(REPO, "test", "lab", "hosts", "relay-main.ts");
  const child = spawn("ip", ["netns", "exec", netns, process.execPath, "--import", "tsx", script], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", log, log, "ipc"],
  });
  fs.closeSync(log);
  try {
    for (const [id, f] of forwards.entries()) await handOver(child, id, f);
  } finally {
    if (child.connected) child.disconnect();
    child.unref();
  }
}

/** Listens on 127.0.0.1:f.port and hands the socket to the relay; resolves once it serves it. */
async function handOver(child: ReturnType<typeof spawn>, id: number, f: Forward): Promise<void> {
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) =>
      reject(new Error(`cannot listen on 127.0.0.1:${f.port}: ${e.message}`)),
    );
    server.listen(f.port, "127.0.0.1", resolve);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the relay did not take port ${f.port} within 30 s`)),
        30_000,
      );
      const onMessage = (m: { type?: string; id?: number }) => {
        if (m?.type !== "ready" || m.id !== id) return;
        clearTimeout(timer);
        child.off("message", onMessage);
        resolve();
      };
      child.on("message", onMessage);
      child.send({ type: "forward", id, host: f.host, port: f.hostPort }, server, (err) => {
        if (err) reject(new Error(`could not hand port ${f.port} to the relay: ${err.message}`));
      });
    });
  } finally {
    server.close(); // the relay holds its own copy of the listening socket now
  }
}

/** Whether every port answers with an SSH banner within `ms` each. */
export async function sshAnswers(ports: number[], ms = 5000): Promise<boolean> {
  try {
    await Promise.all(ports.map((port) => waitForSshBanner({ host: "127.0.0.1", port }, ms)));
    return true;
  } catch {
    return false;
  }
}
