// Loopback ports in the root network namespace that reach host addresses inside the lab's
// namespace, through one relay process per lab (see relay-main.ts).
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface Endpoint {
  host: string;
  port: number;
}

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

export class Relay {
  private child: ChildProcess;
  private nextId = 1;
  private waiting = new Map<number, () => void>();

  constructor(netns: string, logFile: string, onPid: (pid: number) => void) {
    const log = fs.openSync(logFile, "a");
    // tsx lets the relay stay TypeScript; cwd is the repository so `--import tsx` resolves.
    this.child = spawn(
      "ip",
      [
        "netns",
        "exec",
        netns,
        process.execPath,
        "--import",
        "tsx",
        path.join(__dirname, "relay-main.ts"),
      ],
      { cwd: REPO_ROOT, detached: true, stdio: ["ignore", log, log, "ipc"] },
    );
    fs.closeSync(log);
    if (!this.child.pid) throw new Error(`lab: could not start the relay process (log ${logFile})`);
    onPid(this.child.pid);
    this.child.on("message", (m: { type: string; id: number }) => {
      if (m?.type === "ready") this.waiting.get(m.id)?.();
    });
    this.child.unref();
    this.child.channel?.unref();
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** A new 127.0.0.1 port whose connections the relay pipes to target inside the namespace. */
  async forward(target: Endpoint): Promise<Endpoint> {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const port = (server.address() as net.AddressInfo).port;
    const id = this.nextId++;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`lab: the relay did not take port ${port} within 30 s`)),
        30_000,
      );
      this.waiting.set(id, () => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve();
      });
      this.child.channel?.ref();
      this.child.send({ type: "forward", id, ...target }, server, (err) => {
        if (err) reject(new Error(`lab: could not hand port ${port} to the relay: ${err.message}`));
      });
    }).finally(() => this.child.channel?.unref());
    // The relay holds its own copy of the listening socket now.
    server.close();
    return { host: "127.0.0.1", port };
  }

  /** Lets this process exit while the relay keeps serving. */
  detach(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

/** Resolves once target answers with an SSH banner through the forwarded endpoint. */
export async function waitForSshBanner(ep: Endpoint, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const banner = await new Promise<string>((resolve) => {
      const s = net.connect(ep);
      let data = "";
      const done = (v: string) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(data));
      s.on("data", (d) => {
        data += d.toString();
        if (data.includes("\n")) done(data);
      });
      s.on("error", (e) => done(`error: ${e.message}`));
      s.on("close", () => done(data));
    });
    if (banner.startsWith("SSH-")) return;
    last = banner;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`lab: no SSH banner on ${ep.host}:${ep.port} (last: ${last || "nothing"})`);
}
