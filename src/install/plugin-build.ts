// The Docker volume plugin's binary (driver/, Go): built on the machine running the installer
// when the cache has no build of the current sources, with `CGO_ENABLED=0 go build -trimpath`
// for linux/amd64 (a static binary that runs on CentOS 7, Rocky 8 and 9). The cache key is a
// hash of driver/'s go.mod, go.sum and every .go file, so a changed source builds anew and an
// unchanged one never rebuilds. Runs before anything on a host changes (preflight, or the start
// of a runner run).
import { execFileSync } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { projectDir } from "../project-dir";

/** The driver's Go module in this repository. */
export const DRIVER_DIR = path.join(projectDir(), "driver");
export const PLUGIN_BINARY_NAME = "scaleio-volume-plugin";
/** The hosts are x86_64 Linux whatever the machine running the installer is. */
const TARGET = { GOOS: "linux", GOARCH: "amd64" } as const;

/** A built plugin binary: where it is on this machine and its sha256 (what the hosts get). */
export interface PluginBinary {
  path: string;
  sha256: string;
}

/** The files the build depends on, relative to `driverDir`, sorted: go.mod, go.sum, **\/*.go. */
export function driverSources(driverDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(driverDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      // Build output and hidden folders are not sources.
      if (e.isDirectory() && !e.name.startsWith(".") && e.name !== "bin") walk(r);
      else if (e.isFile() && e.name.endsWith(".go")) out.push(r);
    }
  };
  walk("");
  for (const f of ["go.mod", "go.sum"]) if (fs.existsSync(path.join(driverDir, f))) out.push(f);
  return out.sort();
}

/**
 * The cache key: sha256 over each source's path and content and the build target, as 16 hex.
 * Any change to a .go file, go.mod or go.sum gives another key.
 */
export function driverSourceHash(driverDir: string): string {
  const files = driverSources(driverDir);
  if (!files.includes("go.mod"))
    throw new Error(
      `volume plugin: ${driverDir} has no go.mod; the plugin's Go module is driver/ in the Arrowhead repository`,
    );
  const h = createHash("sha256").update(`${TARGET.GOOS}/${TARGET.GOARCH}\0`);
  for (const f of files) {
    const data = fs.readFileSync(path.join(driverDir, f));
    h.update(`${f}\0${data.length}\0`).update(data);
  }
  return h.digest("hex").slice(0, 16);
}

/** `$XDG_CACHE_HOME/arrowhead/volume-plugin` (default ~/.cache/arrowhead/volume-plugin). */
export function pluginCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
  return path.join(base, "arrowhead", "volume-plugin");
}

/** The `go` executable on PATH, or undefined when there is none. */
export function findGo(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, "go");
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What preflight says when the plugin is on and no Go toolchain is found. */
export function goMissingMessage(): string {
  return (
    "volume plugin: arrowhead:volumePlugin is on (the default), and the Docker volume plugin " +
    "(driver/, Go) is built on this machine, but no `go` is on PATH. Go (1.26 or later) is a " +
    "prerequisite of the plugin: install it from https://go.dev/dl/ and put its bin folder on PATH " +
    "(e.g. export PATH=$PATH:/usr/local/go/bin), or turn the plugin off with " +
    "`pulumi config set arrowhead:volumePlugin false`."
  );
}

const sha256File = (file: string) =>
  createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** Builds per process: the program's preflight and the component ask for the same key. */
const built = new Map<string, PluginBinary>();

/**
 * The plugin binary for the current driver sources: the cached build when there is one, else
 * `CGO_ENABLED=0 go build -trimpath` into the cache (through a temporary name and a rename, so
 * an interrupted or concurrent build never leaves a partial file under the key). Throws
 * goMissingMessage() when `go` is not on PATH, and an error naming the command and Go's output
 * when the build fails.
 */
export function ensurePluginBinary(
  opts: { driverDir?: string; cacheRoot?: string; env?: NodeJS.ProcessEnv } = {},
): PluginBinary {
  const env = opts.env ?? process.env;
  const driverDir = opts.driverDir ?? DRIVER_DIR;
  const go = findGo(env);
  if (!go) throw new Error(goMissingMessage());
  const key = driverSourceHash(driverDir);
  const dir = path.join(opts.cacheRoot ?? pluginCacheRoot(env), key);
  const file = path.join(dir, PLUGIN_BINARY_NAME);
  const memo = built.get(file);
  if (memo && fs.existsSync(file)) return memo;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(
      dir,
      `.${PLUGIN_BINARY_NAME}.${process.pid}.${randomBytes(4).toString("hex")}`,
    );
    const args = ["build", "-trimpath", "-o", tmp, `./cmd/${PLUGIN_BINARY_NAME}`];
    try {
      execFileSync(go, args, {
        cwd: driverDir,
        env: { ...env, CGO_ENABLED: "0", ...TARGET },
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 15 * 60_000,
      });
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const err = e as { stderr?: Buffer; message: string };
      const tail = (err.stderr?.toString() || err.message).trim().split("\n").slice(-15).join("\n");
      throw new Error(
        `volume plugin: the build failed: cd ${driverDir} && CGO_ENABLED=0 GOOS=${TARGET.GOOS} ` +
          `GOARCH=${TARGET.GOARCH} ${go} ${args.join(" ")}\n${tail}\n` +
          "Fix the driver sources (or run `go mod download` there if modules are missing), or turn " +
          "the plugin off with `pulumi config set arrowhead:volumePlugin false`.",
      );
    }
    fs.renameSync(tmp, file);
  }
  const bin = { path: file, sha256: sha256File(file) };
  built.set(file, bin);
  return bin;
}
