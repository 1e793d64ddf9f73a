// Removing the demo: `pulumi destroy` (while its hosts run), `pulumi stack rm`, the lab hosts,
// and the demo's files. Used by `demo -- down` and, without the destroy, by a run that finds
// a demo that was killed while it was being built.
import * as fs from "node:fs";
import { labLeftovers, removeLab, runningLab } from "./lab";
import { stackFile, stateDir, statePath } from "./paths";
import { stopPulumiProcesses } from "./procs";
import { type Pulumi, pulumi, stackExists } from "./pulumi";
import { say, step } from "./ui";

/** Stops what a killed run left running (the lock is held: no other demo command runs). */
export function stopLeftovers(): void {
  const n = stopPulumiProcesses();
  if (n > 0) say(`   stopped ${n} process(es) left by an interrupted run`);
}

/** `pulumi <args>`; when an interrupted run left the stack locked, `pulumi cancel` and again. */
export async function withCancel(p: Pulumi, args: string[], onLine?: (l: string) => void) {
  const logFile = statePath("pulumi.log");
  const first = await pulumi(p, args, { logFile, onLine });
  if (first.code === 0 || !/pulumi cancel|currently locked/.test(first.output)) return first;
  say("   an interrupted run left the stack locked: pulumi cancel --yes, then again");
  await pulumi(p, ["cancel", "--yes"], { logFile });
  return pulumi(p, args, { logFile, onLine });
}

/**
 * Removes the stack (destroying first when `destroy` and the hosts run), the lab, and the
 * state folder. A failed destroy is reported and the removal goes
 * on: the hosts it would clean are removed with the lab.
 */
export async function removeDemo(p: Pulumi, o: { destroy: boolean }): Promise<void> {
  const logFile = statePath("pulumi.log");
  stopLeftovers();
  if (await stackExists(p, logFile)) {
    if (o.destroy && (await runningLab())) {
      const r = await step("pulumi destroy", () => withCancel(p, ["destroy", "--yes"]));
      if (r.code !== 0) {
        say(`   pulumi destroy failed (exit ${r.code}); the hosts go anyway. Its output:`);
        say(
          r.output
            .trim()
            .split("\n")
            .slice(-10)
            .map((l) => `     ${l}`)
            .join("\n"),
        );
      }
    }
    await step("pulumi stack rm", async () => {
      const r = await pulumi(p, ["stack", "rm", "--yes", "--force"], { logFile });
      if (r.code !== 0) throw new Error(`pulumi stack rm failed:\n${r.output.trim()}`);
    });
  }
  fs.rmSync(stackFile(), { force: true });
  if (labLeftovers()) await step("removing the lab hosts", () => removeLab());
  fs.rmSync(stateDir(), { recursive: true, force: true });
}
