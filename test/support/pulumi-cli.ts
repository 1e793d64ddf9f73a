// The real Pulumi CLI for tests and benchmarks: built (or found in its cache) by
// scripts/pulumi-cli.sh with Pulumi's Node.js language host beside it, run offline against a file
// backend in a directory of the test's own, with a passphrase for secrets. Every command is the
// CLI's own, as a user types it: `pulumi preview`, `pulumi up --yes` (which previews first),
// `refresh`, `destroy`; the CLI starts the program through the language host and Pulumi's runtime
// (its ts-node, with the type checking it does by default).
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { utils } from "ssh2";
import YAML from "yaml";
import { argv } from "./readme";

export const REPO = path.resolve(__dirname, "..", "..");

/**
 * Builds the CLI and the language host once per process (cached across runs by
 * scripts/pulumi-cli.sh, which takes the language host's source folder from
 * ARROWHEAD_PULUMI_LANGUAGE_HOST_SRC or reuses the cached build; .ci/run builds both first).
 */
let binDir: string | undefined;
export function pulumiBinDir(): string {
  binDir ??= execFileSync(path.join(REPO, "scripts", "pulumi-cli.sh"), {
    cwd: REPO,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  })
    .trim()
    .split("\n")
    .pop()!;
  return binDir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** One project checkout (REPO), one stack, one private backend and PULUMI_HOME. */
export class PulumiStack {
  readonly env: NodeJS.ProcessEnv;
  /** What every command runs under: privateHome() for "login-local", nothing for "dir". */
  private readonly wrap: string[] = [];

  /**
   * @param stack stack name; its config file is stacks/Pulumi.<stack>.yaml in the repository
   * @param stateDir an empty directory of the caller's: backend and PULUMI_HOME live there
   * @param passphrase encrypts the stack's secrets (PULUMI_CONFIG_PASSPHRASE)
   */
  constructor(
    readonly stack: string,
    readonly stateDir: string,
    passphrase: string,
    private readonly log: (line: string) => void = (l) => process.stderr.write(l),
    /**
     * "dir": a file backend in stateDir, set by PULUMI_BACKEND_URL. "login-local": as a user
     * after `pulumi login --local`, whose `~/.pulumi` is fresh: see privateHome().
     */
    backend: "dir" | "login-local" = "dir",
  ) {
    const base = {
      ...cleanEnv(),
      PATH: `${pulumiBinDir()}:${process.env.PATH}`,
      PULUMI_CONFIG_PASSPHRASE: passphrase,
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    if (backend === "dir") {
      const dir = path.join(stateDir, "backend");
      fs.mkdirSync(dir, { recursive: true });
      this.env = {
        ...base,
        PULUMI_HOME: path.join(stateDir, "home"),
        PULUMI_BACKEND_URL: `file://${dir}`,
      };
    } else {
      this.env = base;
      delete this.env.PULUMI_HOME;
      delete this.env.PULUMI_BACKEND_URL;
      this.wrap = privateHome(path.join(stateDir, "home", ".pulumi"));
    }
  }

  /**
   * One line of the README as written (no --stack, no --non-interactive), in the project
   * directory; `input` is what a user types at its prompt. Never throws.
   */
  readme(line: string, input?: string): Promise<CliResult> {
    const [cmd, ...args] = argv(line);
    return this.spawn(cmd, args, input);
  }

  /** The stack's config file, written by `pulumi config set`. */
  get configFile(): string {
    return path.join(REPO, "stacks", `Pulumi.${this.stack}.yaml`);
  }

  /**
   * `pulumi <args>` with the stack selected; `input` goes to stdin; `env` adds variables for
   * this command only (benchmarks compare settings). Never throws.
   */
  cli(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    const all = [...args, "--stack", this.stack, "--non-interactive"];
    return this.spawn("pulumi", all, input, REPO, env);
  }

  /** `pulumi <args>` without --stack (stack init/ls, login). Never throws. */
  cliNoStack(args: string[], input?: string): Promise<CliResult> {
    return this.spawn("pulumi", [...args, "--non-interactive"], input);
  }

  /** `pulumi <args>` with the stack selected, started in `cwd` (e.g. with `-C <repo>`). */
  cliIn(cwd: string, args: string[], input?: string): Promise<CliResult> {
    return this.spawn("pulumi", [...args, "--stack", this.stack, "--non-interactive"], input, cwd);
  }

  /** Like cli(), but a non-zero exit throws with the command's output. */
  async must(p: Promise<CliResult>, what: string): Promise<CliResult> {
    const r = await p;
    if (r.code !== 0) {
      throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout.slice(-6000)}\n${r.stderr}`);
    }
    return r;
  }

  /** `pulumi stack output --json [--show-secrets]`, parsed. */
  async outputs(showSecrets = false): Promise<Record<string, unknown>> {
    const args = ["stack", "output", "--json", ...(showSecrets ? ["--show-secrets"] : [])];
    const r = await this.must(this.cli(args), "pulumi stack output");
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  private spawn(cmd: string, args: string[], input?: string, cwd = REPO, env = {}) {
    const [c, ...a] = [...this.wrap, cmd, ...args];
    const o = { cwd, env: { ...this.env, ...env }, input, log: this.log, shown: [cmd, ...args] };
    return runCommand(c, a, o);
  }
}

/**
 * The prefix that runs a command with `dir` in place of the user's real `~/.pulumi`, in a mount
 * namespace of its own (root only; the test's). HOME cannot do this: the CLI finds `~` (of
 * `file://~`, which `pulumi login --local` stores) and its home from the passwd entry
 * (Go's user.Current(), pkg/backend/diy/backend.go and sdk/go/common/workspace/paths.go,
 * v3.248.0), so a test with another HOME still used, and locked, the machine's real stacks.
 * `unshare` and `sh` exec, so the command keeps the pid the test started.
 */
function privateHome(dir: string): string[] {
  const real = path.join(os.userInfo().homedir, ".pulumi");
  fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(real, { recursive: true });
  const script = 'mount --bind -- "$1" "$2" && shift 2 && exec "$@"';
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "--",
    "sh",
    "-c",
    script,
    "sh",
    dir,
    real,
  ];
}

/**
 * This process's environment without what would change how Pulumi runs the program: a user's
 * shell has none of these, so tests get Pulumi's defaults (type checking on, tsconfig.json of
 * the project directory).
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of ["PULUMI_NODEJS_TRANSPILE_ONLY", "PULUMI_NODEJS_TSCONFIG_PATH", "PULUMI_STACK"])
    delete env[k];
  return env;
}

/** Runs a command, collecting its output; `input` goes to stdin. Never throws on exit codes. */
export function runCommand(
  cmd: string,
  args: string[],
  o: {
    cwd: string;
    env: NodeJS.ProcessEnv;
    input?: string;
    log: (line: string) => void;
    /** The command as logged, when `cmd` runs it through a wrapper. */
    shown?: string[];
  },
): Promise<CliResult> {
  const started = Date.now();
  const [shownCmd, ...shownArgs] = o.shown ?? [cmd, ...args];
  o.log(`$ ${path.basename(shownCmd)} ${shownArgs.join(" ")}\n`);
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? 1, stdout, stderr, seconds: (Date.now() - started) / 1000 }),
    );
    child.stdin.end(o.input ?? "");
  });
}

/** "Resources:" summary of an update, e.g. { create: 1, update: 2, unchanged: 14 }. */
export function resourceSummary(output: string): Record<string, number> {
  const at = output.lastIndexOf("Resources:");
  if (at < 0) throw new Error(`no "Resources:" summary in:\n${output.slice(-2000)}`);
  const out: Record<string, number> = {};
  for (const line of output.slice(at).split("\n").slice(1)) {
    const m = /^\s+([-+~]\s+)?(\d+) (to )?(\w+)/.exec(line);
    if (!m) {
      if (line.trim() === "") continue;
      break;
    }
    // "created" / "to create" -> create; "unchanged" stays.
    const verb = m[4] === "unchanged" ? m[4] : m[4].replace(/d$/, "");
    out[verb] = Number(m[2]);
  }
  return out;
}

/** What an `existing` stack over lab hosts needs (test/lab/hosts). */
export interface ExistingStackHosts {
  hosts: {
    name: string;
    sshHost: string;
    sshPort: number;
    privateAddress: string;
    hostKey: string;
    dataDisks: string[];
  }[];
  privateKey: string;
  repoUrl: string;
}

/**
 * The stack file entry of each lab host, as a user writes arrowhead:hosts (one host through
 * sudo as `centos`, the others as root, so both paths run).
 */
export function existingHostEntries(lab: ExistingStackHosts) {
  return lab.hosts.map((h, i) => ({
    name: h.name,
    address: h.sshHost,
    port: h.sshPort,
    privateAddress: h.privateAddress,
    user: i === 1 ? "centos" : "root",
    hostKey: h.hostKey,
    dataDisks: h.dataDisks,
  }));
}

/** Edits the stack file as a user would, keeping what `pulumi config set` wrote. */
export function editStackConfig(
  stack: PulumiStack,
  edit: (config: Record<string, unknown>) => void,
): void {
  // `stack init` may not have written the file yet (it holds only the passphrase's salt).
  const file = stack.configFile;
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  const doc = (YAML.parse(text) ?? {}) as { config?: Record<string, unknown> };
  doc.config ??= {};
  edit(doc.config);
  fs.writeFileSync(file, YAML.stringify(doc));
}

/**
 * `pulumi stack init`, then the stack file of stacks/Pulumi.existing.yaml with the lab's hosts
 * filled in, and the secrets through `pulumi config set --secret` on stdin (as the stack file's
 * comment tells a user). Throws with the CLI's output when a command fails.
 */
export async function initExistingStack(
  stack: PulumiStack,
  lab: ExistingStackHosts,
  o: { rpmDir: string; mdmPassword: string; gatewayPassword: string },
): Promise<void> {
  await stack.must(stack.cliNoStack(["stack", "init", stack.stack]), "pulumi stack init");
  const example = YAML.parse(
    fs.readFileSync(path.join(REPO, "stacks", "Pulumi.existing.yaml"), "utf8"),
  ) as { config: Record<string, unknown> };
  editStackConfig(stack, (c) => {
    Object.assign(c, example.config, {
      "arrowhead:hosts": existingHostEntries(lab),
      "arrowhead:rpmDir": o.rpmDir,
      "arrowhead:centos7VaultUrl": lab.repoUrl.replace(/\/$/, "") + "/vault",
      "arrowhead:dockerVolumeSizeGb": 8,
    });
  });
  const publicKey = (utils.parseKey(lab.privateKey) as { getPublicSSH(): Buffer })
    .getPublicSSH()
    .toString("base64");
  for (const [key, value, secret] of [
    ["arrowhead:mdmPassword", o.mdmPassword, true],
    ["arrowhead:gatewayPassword", o.gatewayPassword, true],
    ["arrowhead:sshPublicKey", `ssh-ed25519 ${publicKey}`, false],
    ["arrowhead:sshPrivateKey", lab.privateKey, true],
  ] as const) {
    await stack.must(
      stack.cli(["config", "set", ...(secret ? ["--secret"] : []), key], value),
      `pulumi config set ${key}`,
    );
  }
}
