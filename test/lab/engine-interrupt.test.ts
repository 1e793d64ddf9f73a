// `pulumi up` interrupted the hard way (issue 16, finding 6), on an `existing` stack over lab
// hosts through the real CLI: the CLI's whole process group is SIGKILLed mid-install (a crash, a
// closed terminal, a lost SSH session), and then nothing of ours may be left running (our
// dynamic-provider processes used to live on for ~10 minutes, spinning on a closed stdout and
// still able to act on the hosts); `pulumi cancel` (as Pulumi prints) and `pulumi up` finish the
// job, and a further `pulumi up` changes nothing. Before that, the host lock: a run waits, with
// progress naming the holder, while another holds a host, and goes on when it is released.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HOST_LOCK } from "../../src/install/host-lock";
import type { LogLine } from "../../src/install/log";
import { runSelected } from "../../src/install/runner";
import { q } from "../../src/install/shell";
import { PulumiStack, REPO, resourceSummary } from "../support/pulumi-cli";
import { labSh, requireRoot, startEngineLab } from "./fixtures";
import type { Lab } from "./hosts";
import { labInstallSpec } from "./spec";

const STACK = `labintr${process.pid}`;
const MDM_PASSWORD = "Lab-Intr-Mdm-Passw0rd-9";
const GATEWAY_PASSWORD = "Lab-Intr-Gw-Passw0rd-8";
const PASSPHRASE = "lab-intr-passphrase";

/** A process whose environment names `home` as PULUMI_HOME: started by this test's CLI. */
interface Ours {
  pid: number;
  /** "S 1" (state, parent pid): for the message when something is left. */
  stat: string;
  cmdline: string;
}

/** Every live process started by the CLI runs of this test (found by their PULUMI_HOME). */
function processesOf(home: string): Ours[] {
  const marker = `PULUMI_HOME=${home}\0`;
  const found: Ours[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z") continue; // exited
      if (!fs.readFileSync(`/proc/${entry}/environ`, "latin1").includes(marker)) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      found.push({ pid: Number(entry), stat: `${state} ${ppid}`, cmdline: cmdline.trim() });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const isProvider = (p: Ours) => p.cmdline.includes("dynamic-provider");
/**
 * Ours: the dynamic provider, its launcher and tsx's esbuild, the program. Pulumi's own language
 * host (a Go binary beside the CLI) is not: it is reported, not asserted.
 */
const isOurs = (p: Ours) =>
  p.cmdline.includes(REPO) || p.cmdline.includes("pulumi-resource-pulumi-nodejs");

/** Waits until `pred` holds, polling every `everyMs`; throws with `what()` after `ms`. */
async function until(pred: () => boolean, ms: number, what: () => string, everyMs = 100) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s: ${what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

requireRoot();

describe("pulumi up interrupted with SIGKILL", () => {
  let lab: Lab;
  let tmp: string;
  let rpmDir: string;
  let stack: PulumiStack;
  let home: string;
  const figures: Record<string, unknown> = {};

  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);

  beforeAll(async () => {
    ({ lab, tmp, rpmDir, stack } = await startEngineLab({
      name: "intr",
      stackName: STACK,
      passphrase: PASSPHRASE,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
    }));
    home = stack.env.PULUMI_HOME!;
  });

  afterAll(async () => {
    try {
      // Whatever this test's CLI runs left behind (nothing, when the test passed).
      for (const p of home ? processesOf(home) : []) process.kill(p.pid, "SIGKILL");
      if (stack && fs.existsSync(stack.configFile)) {
        await stack.cli(["cancel", "--yes"]);
        await stack.cli(["destroy", "--yes"]);
        await stack.cli(["stack", "rm", "--yes", "--force"]);
      }
    } finally {
      if (stack) fs.rmSync(stack.configFile, { force: true });
      await lab?.down();
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
      console.log("engine interrupt figures:", JSON.stringify(figures));
    }
  });

  it("waits for a host another run holds, naming it, and goes on once it is released", async () => {
    // Another run holds node2 (sudo login there): a root process with the lock, for 12 s.
    const owner = "run labtest: pid 1 on the lab test (root) since now";
    const hold =
      `mkdir -p /run/arrowhead && exec 9<>${q(HOST_LOCK)} && flock -x 9 && ` +
      `printf '%s\\n' ${q(owner)} > ${q(HOST_LOCK)} && touch /run/arrowhead/labtest && sleep 12; ` +
      `rm -f /run/arrowhead/labtest`;
    const holder = lab.exec("node2", hold);
    for (let i = 0; (await lab.exec("node2", "test -e /run/arrowhead/labtest")).code !== 0; i++) {
      if (i > 100) throw new Error("the lab test's lock holder did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    const lines: LogLine[] = [];
    const spec = labInstallSpec(lab, {
      rpmDir,
      clusterName: "intr",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      machine: (i) => ({ sudo: i === 1, knownHostKey: true }),
    });
    const t0 = Date.now();
    await runSelected(
      spec,
      { stages: ["HostPrep"], hosts: ["node2"] },
      { log: (l) => lines.push(l) },
    );
    const waited = (Date.now() - t0) / 1000;
    await holder;
    figures.lockWaitSeconds = waited;
    const lockLines = lines
      .filter((l) => l.step === "lock" && l.text.startsWith("waiting"))
      .map((l) => `[${l.host}] lock: ${l.text}`);
    figures.lockLines = lockLines;
    expect(lockLines[0]).toBe(
      `[node2] lock: waiting for another Arrowhead run holding /run/arrowhead/host.lock (${owner})`,
    );
    expect(lockLines).toContainEqual(
      expect.stringMatching(
        /^\[node2\] lock: waiting for another Arrowhead run holding \/run\/arrowhead\/host\.lock \(run labtest: .*\) 1\d s\.\.\.$/,
      ),
    );
    expect(waited).toBeGreaterThan(9);
    // The work ran after the holder let go, and the lock's file names the installer's run now.
    expect(lines.some((l) => l.host === "node2" && l.step === "HostPrep")).toBe(true);
    expect(await sh("node2", `cat ${q(HOST_LOCK)}`)).toMatch(/^run [0-9a-f]{8}: pid \d+ on /);
    expect(await sh("node2", "stat -c '%a %U' /run/arrowhead")).toBe("700 root");
  });

  it("leaves no process of ours once the CLI's process group is SIGKILLed mid-install", async () => {
    await stack.must(stack.cliNoStack(["stack", "select", STACK]), "pulumi stack select");
    // `pulumi up --yes` as a user types it, in a process group of its own (like a terminal's job).
    const up: ChildProcess = spawn("pulumi", ["up", "--yes"], {
      cwd: REPO,
      env: stack.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    up.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    up.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((r) => up.on("exit", () => r()));
    // Mid-install: a host's packages stage has been running for a few seconds.
    await until(
      () => /HostPackages.*creating/.test(out) || up.exitCode !== null,
      10 * 60_000,
      () => `HostPackages starting; output so far:\n${out.slice(-3000)}`,
      200,
    );
    expect(up.exitCode, out.slice(-3000)).toBeNull();
    await new Promise((r) => setTimeout(r, 3000));
    const before = processesOf(home);
    figures.beforeKill = before.map((p) => p.cmdline.slice(0, 120));
    expect(before.filter(isProvider).length).toBeGreaterThan(0);

    const t0 = Date.now();
    process.kill(-up.pid!, "SIGKILL");
    await exited;
    let providersGoneMs: number | undefined;
    await until(
      () => {
        const left = processesOf(home);
        providersGoneMs ??= left.some(isProvider) ? undefined : Date.now() - t0;
        return !left.some(isOurs);
      },
      15_000,
      () =>
        `no process of ours left; still: ${JSON.stringify(processesOf(home))}\n` +
        `pulumi up said:\n${out.slice(-4000)}`,
    );
    figures.oursGoneMs = Date.now() - t0;
    figures.providersGoneMs = providersGoneMs;
    figures.leftAfterOursGone = processesOf(home).map((p) => p.cmdline.slice(0, 100));
    expect(providersGoneMs).toBeLessThan(10_000);
  });

  it("finishes with `pulumi cancel` and `pulumi up`, and a further `up` changes nothing", async () => {
    // The killed run left the stack locked; Pulumi says what to do.
    const blocked = await stack.cli(["up", "--yes"]);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stdout + blocked.stderr).toMatch(/pulumi cancel/);
    await stack.must(stack.cli(["cancel", "--yes"]), "pulumi cancel");
    const r = await stack.must(stack.cli(["up", "--yes"]), "pulumi up after the interrupted one");
    figures.upSeconds = r.seconds;
    const outs = await stack.outputs();
    expect(outs.clusterState).toBe("3_node Normal");
    for (const h of lab.hosts)
      expect(await sh(h.name, "findmnt -n -o TARGET /var/lib/docker")).toBe("/var/lib/docker");
    const again = await stack.must(stack.cli(["up", "--yes"]), "a further pulumi up");
    const summary = resourceSummary(again.stdout);
    expect(summary).toEqual({ unchanged: summary.unchanged });
    // Each run's provider process ended with the CLI.
    expect(processesOf(home).filter(isOurs)).toEqual([]);
  });
});
