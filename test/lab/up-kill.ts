// Killing `pulumi up` half-way, as a user's Ctrl-C, crash or lost connection would (issue 20:
// "killed half-way ... and run again, finishes the job"): the whole process group (the CLI, the
// language host, the dynamic provider and its SSH sessions) gets SIGKILL, then `pulumi cancel`
// releases the stack's lock as the user would before running `up` again.
import { spawn } from "node:child_process";
import { expect } from "vitest";
import { REPO, type PulumiStack } from "../support/pulumi-cli";

/** How long `upKilledWhen` waits for its kill point before failing (ms). */
const KILL_POINT_WAIT_MS = 4 * 60_000;

/**
 * Starts `pulumi up --yes` on `stack` (the selected stack) in its own process group, polls
 * `when` every second (a throw counts as "not yet") and SIGKILLs the group as soon as it holds,
 * then runs `pulumi cancel --yes`. Fails the test, with the end of the output, when `up` ended
 * before the kill point was reached or the point was not reached within 4 min. Returns what
 * `up` printed before it was killed.
 */
export async function upKilledWhen(
  stack: PulumiStack,
  when: () => Promise<boolean>,
  what: string,
): Promise<string> {
  const up = spawn("pulumi", ["up", "--yes", "--stack", stack.stack, "--non-interactive"], {
    cwd: REPO,
    env: stack.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  up.stdout.on("data", (d: Buffer) => (out += d.toString()));
  up.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((r) => up.on("exit", () => r()));
  const deadline = Date.now() + KILL_POINT_WAIT_MS;
  let reached = false;
  while (up.exitCode === null && Date.now() < deadline) {
    reached = await when().catch(() => false);
    if (reached) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const ended = up.exitCode !== null || up.signalCode !== null;
  if (!ended) process.kill(-up.pid!, "SIGKILL");
  await exited;
  expect(ended, `${what}: pulumi up ended before the kill point:\n${out.slice(-3000)}`).toBe(false);
  expect(reached, `${what}: kill point not reached in 4 min:\n${out.slice(-3000)}`).toBe(true);
  await stack.must(stack.cli(["cancel", "--yes"]), "pulumi cancel");
  return out;
}
