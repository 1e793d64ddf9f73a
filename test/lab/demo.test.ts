// `npm run demo` as a newcomer runs it (issue 19): the demo itself, then the commands it prints,
// run exactly as printed (parsed from its output) by bash from the repository; a second run that
// finds the demo and changes nothing; then `npm run demo -- down`, and nothing of it left:
// processes, network namespace, mounts, loop devices (the lab's disks and the emulated volumes
// inside the hosts), files, the stack, the ports. Preflight refusals first (not root, a missing
// package, a port taken), each before anything is created. A demo already on this machine is
// removed first (lab tests run on machines of their own). Figures go to bench/results.json.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { record } from "../../bench/report";
import { listLoops } from "./hosts/disks";
import { mountsUnder } from "./hosts/fsutil";
import { stateDirOf } from "./hosts/paths";

const REPO = path.resolve(__dirname, "..", "..");
const DEMO_STATE = "/var/lib/arrowhead-demo";
const LAB_STATE = stateDirOf("demo");
const STACK_FILE = path.join(REPO, "stacks", "Pulumi.demo.yaml");
const PORTS = [2201, 2202, 2203];
const EMULATED = "ScaleIO is emulated";

interface Run {
  code: number;
  out: string;
  seconds: number;
}

/** Runs `cmd args` in the repository, collecting stdout+stderr; never throws on exit codes. */
function run(cmd: string, args: string[], o: { uid?: number; env?: NodeJS.ProcessEnv } = {}) {
  const t0 = Date.now();
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: REPO,
      env: o.env ?? process.env,
      uid: o.uid,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? 1, out, seconds: (Date.now() - t0) / 1000 }),
    );
  });
}

const demo = (...args: string[]) => run("npm", ["run", "--silent", "demo", "--", ...args]);
/** One printed line, run by bash as a user pastes it. */
const bash = (line: string) => run("bash", ["-c", line]);

/** The lines printed under `heading` (indented by 4), up to the next blank line. */
function section(out: string, heading: RegExp): string[] {
  const lines = out.split("\n");
  const at = lines.findIndex((l) => heading.test(l));
  if (at < 0) throw new Error(`no section ${heading} in:\n${out}`);
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() === "") break;
    body.push(l.replace(/^ {4}/, ""));
  }
  return body;
}

/** Whether something listens on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** Live processes with the demo's PULUMI_HOME or naming the demo's folders. */
function demoProcesses(): string[] {
  const found: string[] = [];
  for (const e of fs.readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) continue;
      const cmd = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").join(" ");
      const env = fs.readFileSync(`/proc/${e}/environ`, "latin1");
      if (env.includes(`PULUMI_HOME=${DEMO_STATE}/`) || cmd.includes(`${LAB_STATE}/`)) {
        found.push(`${e}: ${cmd}`);
      }
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** maj:min of the file system holding `p`. */
function devOf(p: string): string {
  const dev = fs.statSync(p).dev;
  return `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 4096) & 0xfff00)}`;
}

const netnsExists = () =>
  spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout.includes("ahlab-demo");

describe("npm run demo", () => {
  let first: Run;
  const notes: string[] = [];

  beforeAll(async () => {
    if (fs.existsSync(DEMO_STATE) || fs.existsSync(LAB_STATE) || netnsExists()) {
      const r = await demo("down");
      expect(r.code, r.out).toBe(0);
    }
  });

  afterAll(async () => {
    // A failed test must not leave the demo running.
    if (fs.existsSync(DEMO_STATE) || fs.existsSync(LAB_STATE)) await demo("down");
  });

  it("refuses to start without root, saying how to run it, and creates nothing", async () => {
    const r = await run(process.execPath, ["--import", "tsx", "scripts/demo/main.ts"], {
      uid: 65534,
    });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(/not running as root.*\n.*fix: run it as root/);
    expect(r.out).toContain(EMULATED);
    expect(fs.existsSync(DEMO_STATE)).toBe(false);
  });

  it("names a missing package with the apt-get line that installs it", async () => {
    // A PATH with only node and some of the commands: the rest are named, with their packages.
    const bin = fs.mkdtempSync("/tmp/ah-demo-path-");
    for (const c of ["ip", "losetup", "nsenter", "ssh", "ssh-keygen", "python3", "openssl"]) {
      const where = spawnSync("sh", ["-c", `command -v ${c}`], { encoding: "utf8" }).stdout;
      fs.symlinkSync(where.trim(), path.join(bin, c));
    }
    fs.symlinkSync(process.execPath, path.join(bin, "node"));
    const env = { ...process.env, PATH: bin };
    const r = await run(process.execPath, ["--import", "tsx", "scripts/demo/main.ts"], { env });
    fs.rmSync(bin, { recursive: true });
    expect(r.code, r.out).toBe(2);
    expect(r.out).toMatch(
      /missing command\(s\): debootstrap, systemd-nspawn, rpmbuild, createrepo_c/,
    );
    expect(r.out).toMatch(
      /fix: apt-get install -y --no-install-recommends debootstrap systemd-container rpm createrepo-c/,
    );
    expect(fs.existsSync(DEMO_STATE)).toBe(false);
  });

  it("refuses a taken port, naming it and how to move the demo's ports", async () => {
    const holder = net.createServer().listen(PORTS[1], "127.0.0.1");
    await new Promise((r) => holder.once("listening", r));
    try {
      const r = await demo();
      expect(r.code, r.out).toBe(2);
      expect(r.out).toContain("127.0.0.1 port(s) 2202 already in use");
      expect(r.out).toContain("ARROWHEAD_DEMO_PORT=2301 npm run demo");
      expect(netnsExists()).toBe(false);
      expect(fs.existsSync(DEMO_STATE)).toBe(false);
    } finally {
      holder.close();
    }
  });

  it("stands up the demo and ends with the commands to try, saying ScaleIO is emulated", async () => {
    first = await demo();
    expect(first.code, first.out).toBe(0);
    expect(first.out.split("\n").slice(0, 3).join("\n")).toContain(EMULATED);
    expect(first.out.trim().split("\n").pop()).toContain(EMULATED);
    expect(first.out).toMatch(/Ready [\d.]+ s after start/);
    const mode = fs.statSync(DEMO_STATE).mode & 0o777;
    expect(mode).toBe(0o700);
    // No secret in clear in the stack file or on screen.
    const stackText = fs.readFileSync(STACK_FILE, "utf8");
    expect(stackText).toMatch(/arrowhead:mdmPassword:\n\s+secure: /);
    expect(stackText).not.toContain("PRIVATE KEY");
    expect(first.out).not.toMatch(/Demo-[A-Za-z0-9_-]{16}-9x/);
  });

  it("runs the printed volume commands as printed: written on node1, read on node2", async () => {
    const cmds = section(first.out, /A ScaleIO volume written on node1, then read on node2:/);
    expect(cmds).toHaveLength(3);
    expect(cmds[0]).toMatch(/docker volume create -d scaleio -o size=8 -o iops=500 demo1$/);
    const results: Run[] = [];
    for (const c of cmds) {
      const r = await bash(c);
      expect(r.code, `${c}\n${r.out}`).toBe(0);
      results.push(r);
    }
    expect(results[2].out.trim()).toBe("hello from node1");
    const written = first.seconds + results[0].seconds + results[1].seconds;
    notes.push(`printed create+write ${(results[0].seconds + results[1].seconds).toFixed(1)} s`);
    record({
      name: "demo: ready to the printed write done (demo + 2 printed commands)",
      value: written,
      unit: "s",
      hosts: 3,
    });
  });

  it("runs the printed ssh and pulumi commands as printed", async () => {
    const logins = section(first.out, /Log in to a host:/);
    expect(logins).toHaveLength(3);
    for (const [i, l] of logins.entries()) {
      const r = await bash(`${l} hostname`);
      expect(r.code, r.out).toBe(0);
      expect(r.out.trim()).toBe(`node${i + 1}`);
    }
    const [exp, output, password] = section(first.out, /The stack \(Pulumi state/);
    expect(exp).toMatch(/^export .*PULUMI_BACKEND_URL=file:\/\/\/var\/lib\/arrowhead-demo\//);
    // From another directory: the printed lines do not depend on the cwd.
    const r = await run("bash", ["-c", `cd /tmp && ${exp} && ${output}`]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/clusterState\s+3_node Normal/);
    const pw = await bash(`${exp} && ${password}`);
    expect(pw.code, pw.out).toBe(0);
    expect(pw.out.trim()).toMatch(/^Demo-[A-Za-z0-9_-]{16}-9x$/);
  });

  it("finds the running demo on a second run and changes nothing", async () => {
    const r = await demo();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("Found the running demo");
    expect(r.out).not.toMatch(/\b(created|updated|deleted|replaced)\b \(\d/);
    record({
      name: "demo: second run (finds it, no-op up)",
      value: r.seconds,
      unit: "s",
      hosts: 3,
    });
  });

  it("removes everything with `demo -- down`", async () => {
    // What belongs to the demo while it runs: the lab's disk loops and the loops the emulated
    // volumes got inside the hosts (backed by files on the hosts' overlay roots).
    const roots = fs
      .readdirSync(path.join(LAB_STATE, "hosts"))
      .map((h) => devOf(path.join(LAB_STATE, "hosts", h, "root")));
    const loopsBefore = listLoops().filter(
      (l) => l.backFile.startsWith(`${LAB_STATE}/`) || roots.includes(l.backDev),
    );
    expect(loopsBefore.length).toBeGreaterThanOrEqual(6); // 3 disks, 3 Docker volumes at least
    const r = await demo("down");
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(EMULATED);
    expect(r.out).toMatch(/pulumi destroy/);
    expect(demoProcesses()).toEqual([]);
    expect(netnsExists()).toBe(false);
    expect(mountsUnder(LAB_STATE)).toEqual([]);
    const loopsAfter = listLoops();
    for (const l of loopsBefore) {
      expect(loopsAfter.filter((x) => x.name === l.name && x.backFile === l.backFile)).toEqual([]);
    }
    for (const p of [DEMO_STATE, `${DEMO_STATE}.lock`, LAB_STATE, STACK_FILE]) {
      expect(fs.existsSync(p), p).toBe(false);
    }
    for (const p of PORTS) expect(await listening(p), `port ${p}`).toBe(false);
    const ready = Number(/Ready ([\d.]+) s after start/.exec(first.out)![1]);
    const wrote = Number(/ScaleIO volume at ([\d.]+) s/.exec(first.out)![1]);
    record({
      name: "demo: npm run demo to ready (warm)",
      value: ready,
      unit: "s",
      hosts: 3,
      goal: "< 90 s",
      met: ready < 90,
    });
    record({
      name: "demo: to the first container writing to its own volume",
      value: wrote,
      unit: "s",
      hosts: 3,
    });
    record({
      name: "demo: npm run demo -- down",
      value: r.seconds,
      unit: "s",
      hosts: 3,
      goal: "< 20 s",
      met: r.seconds < 20,
      note: notes.join("; "),
    });
  });
});
