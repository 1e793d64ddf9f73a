// The Pulumi CLI as the demo runs it, and as the user runs it after: the demo's own file backend,
// PULUMI_HOME and passphrase file under the demo's state folder (nothing in ~/.pulumi), the CLI
// from PATH or the one scripts/pulumi-cli.sh builds and caches. Output goes to a log file; the
// caller gets each line to show progress.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO, STACK, statePath } from "./paths";

export interface Pulumi {
  /** Folder holding `pulumi`, to put first on PATH; undefined when it came from PATH. */
  binDir?: string;
  env: NodeJS.ProcessEnv;
}

/** The variables the demo's Pulumi commands need: name=value pairs, no secret among them. */
export function pulumiVars(): Record<string, string> {
  return {
    PULUMI_HOME: statePath("pulumi-home"),
    PULUMI_BACKEND_URL: `file://${statePath("pulumi-backend")}`,
    PULUMI_CONFIG_PASSPHRASE_FILE: statePath("passphrase"),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  };
}

/**
 * Finds the CLI: `pulumi` on PATH when it runs, else scripts/pulumi-cli.sh (which reuses its
 * cache, or builds from the Go module proxy with the language host source from
 * ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC or ../shared/pulumi-language-nodejs). Throws with the
 * script's advice when neither works.
 */
export function findPulumi(): Pulumi {
  const vars = pulumiVars();
  const base = { ...process.env, ...vars };
  for (const k of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_STACK", "PULUMI_NODEJS_TRANSPILE_ONLY"])
    delete base[k];
  const onPath = spawnSync("pulumi", ["version"], { env: base, encoding: "utf8" });
  if (!onPath.error && onPath.status === 0) return { env: base };
  const shared = path.resolve(REPO, "..", "shared", "pulumi-language-nodejs");
  const src = process.env.ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC ?? shared;
  const r = spawnSync(
    path.join(REPO, "scripts", "pulumi-cli.sh"),
    fs.existsSync(src) ? [src] : [],
    { cwd: REPO, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  if (r.status !== 0) {
    throw new Error(
      "no Pulumi CLI: none on PATH, and scripts/pulumi-cli.sh could not provide one:\n" +
        `${r.stderr.trim()}\nfix: install Pulumi (https://www.pulumi.com/docs/install/) or ` +
        "give the language host source: ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC=<folder> npm run demo",
    );
  }
  const binDir = r.stdout.trim().split("\n").pop()!;
  return { binDir, env: { ...base, PATH: `${binDir}:${process.env.PATH}` } };
}

/** How many `pulumi` commands run now (a Ctrl-C then lets them stop cleanly first). */
export let running = 0;

export interface PulumiResult {
  code: number;
  output: string;
}

/**
 * `pulumi <args> --stack demo --non-interactive` in the project directory; `input` goes to
 * stdin (secrets), output is appended to `logFile` and each line passed to `onLine`. Never
 * throws on an exit status.
 */
export function pulumi(
  p: Pulumi,
  args: string[],
  o: { input?: string; logFile: string; onLine?: (line: string) => void; noStack?: boolean },
): Promise<PulumiResult> {
  const all = [...args, ...(o.noStack ? [] : ["--stack", STACK]), "--non-interactive"];
  const log = fs.openSync(o.logFile, "a", 0o600);
  fs.writeSync(log, `$ pulumi ${all.join(" ")}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", all, { cwd: REPO, env: p.env, stdio: ["pipe", "pipe", "pipe"] });
    running++;
    let output = "";
    let partial = "";
    const onData = (d: Buffer) => {
      const text = d.toString();
      output += text;
      fs.writeSync(log, text);
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const l of lines) o.onLine?.(l);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", (e) => {
      fs.closeSync(log);
      reject(new Error(`cannot run pulumi: ${e.message}`));
    });
    child.on("close", (code) => {
      running--;
      if (partial) o.onLine?.(partial);
      fs.closeSync(log);
      resolve({ code: code ?? 1, output });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(o.input ?? "");
  });
}

/** Like pulumi(), but a non-zero exit throws with the output's tail and the log's path. */
export async function mustPulumi(
  p: Pulumi,
  args: string[],
  o: { input?: string; logFile: string; onLine?: (line: string) => void; noStack?: boolean },
): Promise<string> {
  const r = await pulumi(p, args, o);
  if (r.code !== 0) {
    const tail = r.output.trim().split("\n").slice(-25).join("\n");
    throw new Error(
      `\`pulumi ${args.join(" ")}\` failed (exit ${r.code}):\n${tail}\n(full log: ${o.logFile})`,
    );
  }
  return r.output;
}

/** Whether the demo's backend holds the stack (false when the backend does not exist). */
export async function stackExists(p: Pulumi, logFile: string): Promise<boolean> {
  if (!fs.existsSync(statePath("pulumi-backend"))) return false;
  const r = await pulumi(p, ["stack", "ls", "--json"], { logFile, noStack: true });
  if (r.code !== 0) return false;
  return new RegExp(`"name":\\s*"${STACK}"`).test(r.output);
}
