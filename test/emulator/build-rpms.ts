// Builds the emulator's RPMs with rpmbuild, named like the vendor's files, and caches them by a
// hash of the emulator sources so repeated test runs reuse them.
//
//   npx tsx test/emulator/build-rpms.ts --version 3.6-700.103 --dist el8 --out assets/rpms
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import {
  COMPONENTS,
  type Component,
  type Dist,
  GATEWAY_PROPERTIES,
  launcher,
  parseVersion,
  renderSpec,
  rpmFileName,
  SPECS,
  unitFile,
} from "./spec";

const run = promisify(execFile);
const HERE = __dirname;
const PYTHON_DIR = path.join(HERE, "python", "scaleio_emu");
const CACHE_DIR = path.join(HERE, "..", "..", ".lab", "emulator-rpms");

export interface BuildOptions {
  /** e.g. "2.0-14000.231" or "3.6-700.103". */
  version: string;
  dist: Dist;
  /** Where the .rpm files are copied (created if missing). */
  outDir: string;
  /** Which packages; all five by default. */
  components?: readonly Component[];
}

// spec.ts and this file as they were when this process loaded them: their code (in memory) is
// what builds the packages, so the cache key must not follow later edits on disk (another
// process editing them meanwhile would otherwise file old packages under the new key).
const LOADED_TS = ["spec.ts", "build-rpms.ts"].map((f) => ({
  name: f,
  text: fs.readFileSync(path.join(HERE, f)),
}));

/** Hash of everything that ends up in a package, so any source change rebuilds. */
export function sourceHash(): string {
  const h = createHash("sha256");
  for (const f of LOADED_TS) {
    h.update(f.name);
    h.update(f.text);
  }
  for (const f of fs
    .readdirSync(PYTHON_DIR)
    .filter((n) => n.endsWith(".py"))
    .sort()) {
    h.update(f);
    h.update(fs.readFileSync(path.join(PYTHON_DIR, f)));
  }
  return h.digest("hex").slice(0, 16);
}

interface Staged {
  files: string[];
  dirs: string[];
}

function write(root: string, abs: string, content: string, mode: number, staged: Staged): void {
  const target = path.join(root, abs);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, content, { mode });
  fs.chmodSync(target, mode);
  staged.files.push(abs);
}

/** Lay out one package's files exactly where they will be installed. */
function stage(component: Component, version: string, root: string): Staged {
  const spec = SPECS[component];
  const base = `/opt/emc/scaleio/${component}`;
  const staged: Staged = {
    files: [],
    dirs: [base, `${base}/bin`, `${base}/cfg`, `${base}/lib`, `${base}/lib/scaleio_emu`],
  };
  for (const f of fs.readdirSync(PYTHON_DIR).filter((n) => n.endsWith(".py"))) {
    const text = fs.readFileSync(path.join(PYTHON_DIR, f), "utf8");
    write(root, `${base}/lib/scaleio_emu/${f}`, text, 0o644, staged);
  }
  for (const p of spec.programs) {
    write(root, `${base}/bin/${p.bin}`, launcher(component, p.module), 0o755, staged);
  }
  write(root, `${base}/cfg/version`, `${version}\n`, 0o644, staged);
  write(
    root,
    `/usr/lib/systemd/system/${spec.service}.service`,
    unitFile(component),
    0o644,
    staged,
  );
  if (component === "gateway") {
    for (const d of [
      "webapps",
      "webapps/ROOT",
      "webapps/ROOT/WEB-INF",
      "webapps/ROOT/WEB-INF/classes",
    ]) {
      staged.dirs.push(`${base}/${d}`);
    }
    write(
      root,
      `${base}/webapps/ROOT/WEB-INF/classes/gatewayUser.properties`,
      GATEWAY_PROPERTIES,
      0o600,
      staged,
    );
  }
  for (const f of spec.extraFiles ?? []) {
    const dir = path.dirname(f.path);
    if (!staged.dirs.includes(dir)) staged.dirs.push(dir);
    write(root, f.path, f.content, f.mode, staged);
  }
  for (const [link, target] of Object.entries(spec.links ?? {})) {
    fs.mkdirSync(path.dirname(path.join(root, link)), { recursive: true });
    fs.symlinkSync(target, path.join(root, link));
    staged.files.push(link);
  }
  return staged;
}

async function buildOne(
  component: Component,
  version: string,
  dist: Dist,
  cacheDir: string,
): Promise<string> {
  const file = path.join(cacheDir, rpmFileName(component, version, dist));
  if (fs.existsSync(file)) return file;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `emu-rpm-${component}-`));
  try {
    const stagedRoot = path.join(work, "root");
    const staged = stage(component, version, stagedRoot);
    const specFile = path.join(work, `${component}.spec`);
    fs.writeFileSync(specFile, renderSpec({ component, version, dist, stagedRoot, ...staged }));
    const top = path.join(work, "top");
    try {
      await run(
        "rpmbuild",
        ["-bb", "--define", `_topdir ${top}`, "--define", `dist .${dist}`, specFile],
        { maxBuffer: 16 * 1024 * 1024 },
      );
    } catch (e) {
      const err = e as { code?: string; stderr?: string };
      if (err.code === "ENOENT") {
        throw new Error(
          "rpmbuild is not installed: apt-get install rpm (Debian) or rpm-build (EL)",
        );
      }
      throw new Error(`rpmbuild failed for ${component} ${version}: ${err.stderr ?? String(e)}`);
    }
    const built = path.join(top, "RPMS", "x86_64", path.basename(file));
    if (!fs.existsSync(built)) {
      throw new Error(
        `rpmbuild did not produce ${path.basename(file)} (found: ${fs.readdirSync(path.join(top, "RPMS", "x86_64")).join(", ")})`,
      );
    }
    fs.mkdirSync(cacheDir, { recursive: true });
    // Copy then rename: a concurrent reader never sees half a file.
    fs.copyFileSync(built, `${file}.tmp`);
    fs.renameSync(`${file}.tmp`, file);
    return file;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Build (or reuse from the cache) the emulator RPMs; returns the paths in outDir. */
export async function buildEmulatorRpms(options: BuildOptions): Promise<string[]> {
  parseVersion(options.version);
  const key = sourceHash();
  const cacheDir = path.join(CACHE_DIR, key);
  // Builds of older sources are never used again: keep the cache from growing without bound.
  if (fs.existsSync(CACHE_DIR)) {
    for (const old of fs.readdirSync(CACHE_DIR).filter((d) => d !== key)) {
      fs.rmSync(path.join(CACHE_DIR, old), { recursive: true, force: true });
    }
  }
  const out: string[] = [];
  fs.mkdirSync(options.outDir, { recursive: true });
  // One at a time: rpmbuild is CPU-heavy and the machine is shared.
  for (const component of options.components ?? COMPONENTS) {
    const cached = await buildOne(component, options.version, options.dist, cacheDir);
    const dest = path.join(options.outDir, path.basename(cached));
    fs.copyFileSync(cached, `${dest}.tmp`);
    fs.renameSync(`${dest}.tmp`, dest);
    out.push(dest);
  }
  return out;
}

function parseArgs(argv: string[]): BuildOptions {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const version = get("--version");
  const dist = get("--dist");
  const outDir = get("--out");
  if (!version || !dist || !outDir || !["el7", "el8", "el9"].includes(dist)) {
    throw new Error(
      "usage: npx tsx test/emulator/build-rpms.ts --version 3.6-700.103 --dist el7|el8|el9 --out <dir>",
    );
  }
  return { version, dist: dist as Dist, outDir };
}

if (require.main === module) {
  buildEmulatorRpms(parseArgs(process.argv.slice(2))).then(
    (files) => console.log(files.join("\n")),
    (e: Error) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
