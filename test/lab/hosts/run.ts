// One way to run host commands: arguments as an array (no shell quoting), secrets only through
// stdin or the environment, and errors that name the command and show what it printed.
import { spawn, spawnSync } from "node:child_process";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Return a non-zero exit instead of throwing. */
  allowFail?: boolean;
  timeoutMs?: number;
}

function describe(cmd: string, args: string[]): string {
  return [cmd, ...args].join(" ").slice(0, 300);
}

function failure(cmd: string, args: string[], r: RunResult): Error {
  const tail = (r.stderr || r.stdout).trim().split("\n").slice(-15).join("\n");
  return new Error(`lab: \`${describe(cmd, args)}\` exited with ${r.code}:\n${tail}`);
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) {
      timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    }
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`lab: cannot run ${cmd}: ${e.message} (is it installed?)`));
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      const r: RunResult = {
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      };
      if (r.code !== 0 && !opts.allowFail) reject(failure(cmd, args, r));
      else resolve(r);
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Synchronous variant, for cleanup from process exit handlers where nothing async runs. */
export function runSync(cmd: string, args: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    input: opts.input,
    timeout: opts.timeoutMs,
    encoding: "utf8",
  });
  if (r.error) {
    if (opts.allowFail) return { code: 127, stdout: "", stderr: r.error.message };
    throw new Error(`lab: cannot run ${cmd}: ${r.error.message} (is it installed?)`);
  }
  const res: RunResult = { code: r.status ?? 128, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (res.code !== 0 && !opts.allowFail) throw failure(cmd, args, res);
  return res;
}
