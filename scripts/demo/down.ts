// `npm run demo -- down`: pulumi destroy and stack rm, the lab hosts, the demo's files; then a
// check that nothing of the demo is left (network namespace, state folders, stack file, ports).
import * as fs from "node:fs";
import { listLoops } from "../../test/lab/hosts/disks";
import { mountsUnder } from "../../test/lab/hosts/fsutil";
import { stateDirOf } from "../../test/lab/hosts/paths";
import { labLeftovers } from "./lab";
import { takeLock } from "./lock";
import { HOSTS, LAB_NAME, sshPortOf, stackFile, stateDir } from "./paths";
import { platformProblems, failOn, portFree } from "./preflight";
import { findPulumi } from "./pulumi";
import { demoProcesses } from "./procs";
import { removeDemo } from "./remove";
import { banner, elapsed, EMULATED, say, step } from "./ui";

/** What of the demo is still on this machine (empty when nothing). */
export async function leftovers(): Promise<string[]> {
  const dirs = [stateDirOf(LAB_NAME), stateDir()];
  const left: string[] = demoProcesses().map((p) => `process ${p.pid}: ${p.cmdline}`);
  for (const d of dirs) left.push(...mountsUnder(d).map((m) => `mount ${m}`));
  for (const l of listLoops()) {
    if (dirs.some((d) => l.backFile.startsWith(`${d}/`))) left.push(`${l.name} (${l.backFile})`);
  }
  if (labLeftovers()) left.push("lab demo (its state folder or network namespace)");
  if (fs.existsSync(stackFile())) left.push(stackFile());
  if (fs.existsSync(stateDir())) left.push(stateDir());
  for (const [i] of HOSTS.entries()) {
    if (!(await portFree(sshPortOf(i)))) left.push(`127.0.0.1:${sshPortOf(i)} still listened on`);
  }
  return left;
}

/** `npm run demo -- down`. */
export async function down(): Promise<void> {
  banner("down");
  failOn(platformProblems());
  if (!fs.existsSync(stateDir()) && !labLeftovers() && !fs.existsSync(stackFile())) {
    say("No demo on this machine: nothing to remove.");
    return;
  }
  const release = takeLock(`${stateDir()}.lock`);
  const p = await step("the Pulumi CLI", async () => findPulumi());
  await removeDemo(p, { destroy: true });
  const left = await leftovers();
  release();
  if (left.length > 0)
    throw new Error(`down finished, but these are left:\n  ${left.join("\n  ")}`);
  say(
    `Removed in ${elapsed()} s: no host, stack, network namespace, mount, loop device or file of the demo is left.`,
  );
  say(
    "Kept (caches): the lab's Debian base (/var/cache/arrowhead-lab), the emulator's packages (.lab/), the Pulumi CLI, Go's build cache.",
  );
  say(EMULATED);
}
