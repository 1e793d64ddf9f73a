// Processes of the demo. Pulumi starts its language host in a process group of its own, so a
// `npm run demo` killed with its process group leaves that host running (reparented to init)
// with the demo's PULUMI_HOME in its environment; the next demo command, holding the demo lock
// (so no other demo command runs), stops such processes. The check after `down` also looks for
// anything naming the demo's folders on its command line (containers). A user's shell that ran
// the demo's printed `export` line has the same PULUMI_HOME, and so have its other commands and
// the npm running this one: only Pulumi's own processes count, and never an ancestor of this one.
import * as fs from "node:fs";
import * as path from "node:path";
import { stateDirOf } from "../../test/lab/hosts/paths";
import { LAB_NAME, stateDir, statePath } from "./paths";

export interface DemoProcess {
  pid: number;
  cmdline: string;
}

/** This process and its ancestors (parent pids read from /proc/<pid>/stat). */
function ownLine(): Set<number> {
  const line = new Set<number>();
  for (let pid = process.pid; pid > 1 && !line.has(pid);) {
    line.add(pid);
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      pid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
  }
  return line;
}

/**
 * Whether a command line is one of Pulumi's processes: the CLI and its plugins
 * (`pulumi`, `pulumi-language-nodejs`, `pulumi-resource-*`) or the Node.js programs they start
 * (`@pulumi/pulumi/cmd/run`, `.../dynamic-provider`).
 */
export function isPulumiCommand(cmdline: string): boolean {
  const exe = path.basename(cmdline.split(" ")[0] ?? "");
  return exe.startsWith("pulumi") || cmdline.includes("@pulumi/pulumi/cmd/");
}

/**
 * Live processes (not this one or its ancestors, not zombies) for which `match(cmdline,
 * environ)` holds.
 */
function processesWhere(match: (cmd: string, env: string) => boolean): DemoProcess[] {
  const found: DemoProcess[] = [];
  const own = ownLine();
  for (const entry of fs.readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    if (own.has(Number(entry))) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(")") + 2))) continue;
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      const env = fs.readFileSync(`/proc/${entry}/environ`, "latin1");
      if (match(cmd, env)) found.push({ pid: Number(entry), cmdline: cmd.slice(0, 160) });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Processes started by the demo's Pulumi commands (their PULUMI_HOME is the demo's). */
export function pulumiProcesses(): DemoProcess[] {
  const marker = `PULUMI_HOME=${statePath("pulumi-home")}\0`;
  return processesWhere((cmd, env) => env.includes(marker) && isPulumiCommand(cmd));
}

/** Pulumi's processes plus anything naming the demo's or its lab's folders on its command line. */
export function demoProcesses(): DemoProcess[] {
  const marker = `PULUMI_HOME=${statePath("pulumi-home")}\0`;
  const dirs = [stateDirOf(LAB_NAME), stateDir()];
  return processesWhere(
    (cmd, env) =>
      (env.includes(marker) && isPulumiCommand(cmd)) || dirs.some((d) => cmd.includes(`${d}/`)),
  );
}

/** SIGKILLs the demo's Pulumi processes (hold the demo lock); returns how many there were. */
export function stopPulumiProcesses(): number {
  const found = pulumiProcesses();
  for (const p of found) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  return found.length;
}
