// The dynamic-provider watchdog and the log sink: the engine going away (its process, its port,
// the pipe it read) aborts the install and ends the process within seconds, and a line that
// cannot be written is dropped, never buffered or retried. Real processes where it matters.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import {
  engineAnswers,
  EngineGoneError,
  isDynamicProviderHost,
  parentOf,
  watchEngine,
  type EngineWatch,
} from "../../src/install/engine-watch";
import { consoleSink, MAX_PENDING_BYTES, writeLineOrDrop } from "../../src/install/log";
import { argv } from "../../src/install/shell";

const CHILD = path.join(__dirname, "support", "engine-watch-child.ts");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

/** watchEngine over a fake process tree (pid -> parent) and fake streams, every 10 ms. */
function fakeWatch(o: { answers?: () => Promise<boolean | undefined>; engine?: string } = {}) {
  const tree = new Map<number | "self", number>([
    ["self", 30],
    [30, 20],
  ]);
  const streams = [new PassThrough(), new PassThrough()];
  const reasons: string[] = [];
  const w: EngineWatch = watchEngine({
    onGone: (why) => reasons.push(why),
    intervalMs: 10,
    streams,
    parentOf: (pid) => tree.get(pid),
    engineAddress: o.engine,
    answers: o.answers,
  });
  cleanup.push(() => w.stop());
  return { w, tree, streams, reasons };
}

describe("engine watchdog", () => {
  it("stays quiet while the process tree and the engine are as they were", async () => {
    const f = fakeWatch({ engine: "127.0.0.1:1", answers: () => Promise.resolve(true) });
    await sleep(100);
    expect(f.reasons).toEqual([]);
    expect(f.w.signal.aborted).toBe(false);
  });

  it("aborts, once, when the parent goes away (orphans are adopted by init)", async () => {
    const f = fakeWatch();
    f.tree.set("self", 1);
    await sleep(60);
    expect(f.reasons).toEqual(["parent process 30 ended (now 1)"]);
    expect(f.w.signal.reason).toBeInstanceOf(EngineGoneError);
    expect((f.w.signal.reason as Error).message).toMatch(/the Pulumi engine went away/);
  });

  it("aborts when the launcher's parent, the engine, goes away", async () => {
    const f = fakeWatch();
    f.tree.set(30, 1);
    await sleep(60);
    expect(f.reasons).toEqual(["process 20 that started the provider ended"]);
  });

  it("aborts when the engine's port refuses connections, not when it cannot tell", async () => {
    let answer: boolean | undefined = undefined;
    const f = fakeWatch({ engine: "127.0.0.1:9", answers: () => Promise.resolve(answer) });
    await sleep(60);
    expect(f.reasons).toEqual([]);
    answer = false;
    await sleep(60);
    expect(f.reasons).toEqual(["engine at 127.0.0.1:9 refuses connections"]);
  });

  it("aborts when stdout or stderr fails (EPIPE), and a later failure is no uncaught error", async () => {
    const f = fakeWatch();
    const epipe = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    f.streams[1].emit("error", epipe);
    f.streams[1].emit("error", epipe);
    expect(f.reasons).toEqual(["output stream failed: write EPIPE"]);
  });

  it("knows Pulumi's dynamic-provider host by its script", () => {
    const host = "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";
    expect(isDynamicProviderHost(["node", host, "127.0.0.1:4000"])).toBe(true);
    expect(isDynamicProviderHost(["node", "/p/node_modules/vitest/dist/worker.js"])).toBe(false);
  });

  it("reads parent pids from /proc and probes a port", async () => {
    expect(parentOf("self")).toBe(process.ppid);
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    expect(await engineAnswers(`127.0.0.1:${port}`)).toBe(true);
    await new Promise((r) => server.close(r));
    expect(await engineAnswers(`127.0.0.1:${port}`)).toBe(false);
    expect(await engineAnswers("not an address")).toBeUndefined();
  });
});

describe("log sink", () => {
  it("drops lines once the stream failed: one write attempted, none retried, no uncaught error", async () => {
    let writes = 0;
    const closed = new Writable({
      write(_c, _e, cb) {
        writes++;
        cb(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    });
    const sink = consoleSink({ out: closed, err: closed });
    sink({ host: "node1", step: "packages", stream: "info", text: "first" });
    await sleep(10);
    for (let i = 0; i < 1000; i++)
      sink({ host: "node1", step: "packages", stream: "info", text: `line ${i}` });
    expect(writes).toBe(1);
    expect(writeLineOrDrop(closed, "again")).toBe(false);
  });

  it("drops lines while a stalled reader leaves MAX_PENDING_BYTES unwritten", () => {
    // A reader that never takes anything: every write stays pending.
    const stalled = new Writable({ highWaterMark: 1024, write: () => undefined });
    let handed = 0;
    for (let i = 0; i < 10_000; i++) if (writeLineOrDrop(stalled, "x".repeat(100))) handed++;
    expect(stalled.writableLength).toBeLessThanOrEqual(MAX_PENDING_BYTES + 101);
    expect(handed).toBeLessThan(10_000);
    expect(handed).toBeGreaterThan(MAX_PENDING_BYTES / 101);
  });

  it("writes [host] step: text, stderr lines to err, other streams only when verbose", () => {
    const out: string[] = [];
    const err: string[] = [];
    const into = (a: string[]) =>
      new Writable({
        write(c: Buffer, _e, cb) {
          a.push(c.toString());
          cb();
        },
      });
    const sink = consoleSink({ verbose: true, out: into(out), err: into(err) });
    sink({ host: "node2", step: "lock", stream: "info", text: "waiting" });
    sink({ host: "node2", step: "lock", stream: "stderr", text: "oops" });
    expect(out).toEqual(["[node2] lock: waiting\n"]);
    expect(err).toEqual(["[node2] lock: oops\n"]);
  });
});

/** A child running support/engine-watch-child.ts; resolves its pid once it watches. */
function startChild(cmd: string, args: string[]): { child: ChildProcess; pid: Promise<number> } {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  cleanup.push(() => child.kill("SIGKILL"));
  const pid = new Promise<number>((resolve, reject) => {
    let out = "";
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /watching (\d+)/.exec(out);
      if (m) {
        child.stdout!.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`child exited (${code}) before watching: ${out}`)));
  });
  return { child, pid };
}

/** Milliseconds until `pid` is gone (or a zombie), or throws after `ms`. */
async function goneWithin(pid: number, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    let state: string | undefined;
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    } catch {
      state = undefined;
    }
    if (state === undefined || state === "Z") return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`process ${pid} still alive after ${ms} ms`);
    await sleep(50);
  }
}

describe("a provider process whose engine goes away (real processes)", () => {
  const reportFile = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-watch-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    return path.join(dir, "report");
  };
  const node = [process.execPath, "--import", "tsx", CHILD];

  it("exits within seconds of its launcher's parent being killed, install aborted", async () => {
    const report = reportFile();
    // Like Pulumi: engine (this test) -> launcher shell -> node. The shell is SIGKILLed.
    const line = `${argv([...node, "-", report])} & wait`;
    const { child, pid } = startChild("sh", ["-c", line]);
    const provider = await pid;
    child.kill("SIGKILL");
    const ms = await goneWithin(provider, 5000);
    expect(ms).toBeLessThan(5000);
    expect(fs.readFileSync(report, "utf8")).toMatch(/^aborted: the Pulumi engine went away \(/);
  });

  it("exits within seconds of its stdout being closed, without spinning on EPIPE", async () => {
    const report = reportFile();
    const { child, pid } = startChild(node[0], [...node.slice(1), "-", report]);
    await pid;
    const exited = new Promise<number>((r) => child.on("exit", () => r(Date.now())));
    const t0 = Date.now();
    child.stdout!.destroy();
    expect((await exited) - t0).toBeLessThan(5000);
    expect(fs.readFileSync(report, "utf8")).toMatch(/output stream failed: .*EPIPE/);
  });

  it("exits within seconds of the engine's port closing", async () => {
    const report = reportFile();
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const { child, pid } = startChild(node[0], [...node.slice(1), address, report]);
    await pid;
    await sleep(1500);
    expect(child.exitCode).toBeNull(); // the engine answers: keeps running
    const exited = new Promise<number>((r) => child.on("exit", () => r(Date.now())));
    const t0 = Date.now();
    await new Promise((r) => server.close(r));
    expect((await exited) - t0).toBeLessThan(5000);
    expect(fs.readFileSync(report, "utf8")).toMatch(/refuses connections/);
  });
});
