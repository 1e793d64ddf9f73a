// `npm run demo`: three lab hosts, the emulator's packages, the `demo` stack of the `existing`
// kind, the real `pulumi up`, a check of every host, and the closing screen. A running demo is
// found and brought to the same state; one killed half-way is finished (the stack) or removed
// and built again (the hosts).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { buildEmulatorRpms } from "../../test/emulator/build-rpms";
import { makeReady, probeWrite } from "./hosts";
import { buildLab, type DemoLab, labLeftovers, recordLab, runningLab } from "./lab";
import { takeLock } from "./lock";
import { printNextSteps } from "./next-steps";
import {
  HOSTS,
  SCALEIO_DIST,
  SCALEIO_VERSION,
  sshPortOf,
  stackFile,
  stateDir,
  statePath,
} from "./paths";
import { failOn, goProblems, packageProblems, platformProblems, portProblems } from "./preflight";
import { findPulumi, mustPulumi, type Pulumi } from "./pulumi";
import { removeDemo, stopLeftovers, withCancel } from "./remove";
import { demoConfig, initStack } from "./stack";
import { banner, elapsed, EMULATED, printTimings, say, step } from "./ui";

/** The state folder, root-only, with a passphrase file for the stack's secrets. */
function prepareStateDir(): void {
  fs.mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  fs.chmodSync(stateDir(), 0o700);
  fs.mkdirSync(statePath("pulumi-backend"), { recursive: true, mode: 0o700 });
  const file = statePath("passphrase");
  if (!fs.existsSync(file)) {
    fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url"), { mode: 0o600 });
  }
}

/** Progress lines worth showing from `pulumi up`: resources done, errors, warnings. */
function upProgress(line: string): void {
  const l = line.trim();
  if (/\b(created|updated|deleted|replaced|failed)\b \(\d/.test(l) || /^(error|warning):/.test(l)) {
    say(`   ${l.replace(/pulumi-nodejs:dynamic\/arrowhead:scaleio:/, "")}`);
  }
}

/** Hosts, packages and stack from scratch (after removing what an interrupted run left). */
async function buildFromScratch(p: Pulumi): Promise<DemoLab> {
  if (labLeftovers() || fs.existsSync(stateDir()) || fs.existsSync(stackFile())) {
    await step("removing what an interrupted demo left", () => removeDemo(p, { destroy: false }));
  }
  failOn(await portProblems(HOSTS.map((_, i) => sshPortOf(i))));
  prepareStateDir();
  const rpmDir = statePath("rpms");
  await step(
    "emulated ScaleIO packages",
    () => buildEmulatorRpms({ version: SCALEIO_VERSION, dist: SCALEIO_DIST, outDir: rpmDir }),
    { hint: "a few seconds the first time, cached after" },
  );
  const lab = await step("3 lab hosts (systemd-nspawn)", () => buildLab((l) => say(`   ${l}`)), {
    hint: "a few minutes the first time, to build a Debian base; about 10 s after",
  });
  await step("the Pulumi stack `demo` (existing hosts, generated secrets)", () =>
    initStack(
      p,
      demoConfig({ hosts: lab.hosts, rpmDir, repoUrl: lab.repoUrl, publicKey: lab.publicKey }),
      lab.keyFile,
      statePath("pulumi.log"),
    ),
  );
  recordLab(lab);
  return lab;
}

/** Cluster Normal and Docker on ScaleIO per the stack outputs; each host checked over SSH. */
async function checkReady(p: Pulumi, lab: DemoLab): Promise<void> {
  const out = JSON.parse(
    await mustPulumi(p, ["stack", "output", "--json"], { logFile: statePath("pulumi.log") }),
  ) as { clusterState?: string; dockerRootDirs?: Record<string, string> };
  if (out.clusterState !== "3_node Normal") {
    throw new Error(`the cluster is not Normal: clusterState is ${out.clusterState}`);
  }
  for (const h of lab.hosts) {
    if (!out.dockerRootDirs?.[h.name]) throw new Error(`${h.name}: no Docker root in the stack`);
  }
  await Promise.all(lab.hosts.map((h) => makeReady(lab, h.name)));
}

/** `npm run demo`. Throws PreflightError (nothing changed) or Error (see the message). */
export async function up(): Promise<void> {
  banner("up (3 hosts, ScaleIO, Docker, the volume plugin)");
  failOn(platformProblems());
  failOn([...packageProblems(), ...goProblems()]);
  takeLock(`${stateDir()}.lock`);
  const p = await step("the Pulumi CLI", async () => findPulumi());
  let lab = await runningLab();
  if (lab) prepareStateDir();
  if (lab) say(`Found the running demo (hosts up since ${lab.createdAt}): bringing it up to date.`);
  lab ??= await buildFromScratch(p);
  const found = lab;
  stopLeftovers();
  await step(
    "pulumi up --yes",
    async () => {
      const r = await withCancel(p, ["up", "--yes"], upProgress);
      if (r.code !== 0) {
        const lines = r.output.trim().split("\n");
        const errors = lines.filter((l) => /^\s*error:/.test(l)).slice(0, 10);
        const tail = [...errors, "...", ...lines.slice(-8)].join("\n");
        throw new Error(
          `pulumi up failed (exit ${r.code}):\n${tail}\n(full log: ${statePath("pulumi.log")})`,
        );
      }
    },
    { hint: "about a minute; seconds when nothing changed" },
  );
  await step("every host ready: cluster Normal, Docker on ScaleIO, plugin answering", () =>
    checkReady(p, found),
  );
  const readyAt = elapsed();
  const probe = await step("first container writing to its own ScaleIO volume", () =>
    probeWrite(found, found.hosts[0].name),
  );
  const firstWriteAt = elapsed();
  say("");
  printTimings();
  say(
    `Ready ${readyAt} s after start; a container wrote to its own ScaleIO volume at ` +
      `${firstWriteAt} s (create, run, read back: ${probe.toFixed(1)} s).`,
  );
  say(EMULATED);
  printNextSteps(found, p);
}
