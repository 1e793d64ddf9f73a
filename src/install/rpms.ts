// Package discovery: find the vendor RPMs the user dropped in a directory, parse their names
// (reference §2), and pick one consistent set for the stack's OS. Every problem is found here,
// before any host is touched, and the error names the file(s) expected.
import * as fs from "fs";
import * as path from "path";
import { distTagOf, type OsName } from "../machine";

export type Component = "mdm" | "tb" | "sds" | "sdc" | "lia" | "gateway";
export type Dialect = "1.3x" | "2.x" | "3.x";

export interface RpmFile {
  file: string;
  /** Absolute path. */
  path: string;
  component: string;
  /** RPM name, e.g. EMC-ScaleIO-mdm. */
  name: string;
  /** major.minor, e.g. "2.0". */
  version: string;
  /** e.g. "14000.231". */
  build: string;
  dist: "el7" | "el8" | "el9" | null;
  arch: "x86_64" | "noarch";
  /** What `rpm -q --qf '%{VERSION}-%{RELEASE}'` prints once installed. */
  versionRelease: string;
}

export interface RpmSet {
  dir: string;
  version: string;
  build: string;
  dialect: Dialect;
  dist: "el7" | "el8" | "el9";
  packages: Partial<Record<Component, RpmFile>>;
}

const NAME_RE =
  /^EMC-ScaleIO-([a-z]+(?:-[a-z]+)*)-(\d+\.\d+)-(\d+(?:\.\d+)*)\.(?:(el\d+)\.)?(x86_64|noarch)\.rpm$/;

/** Parse a vendor file name; undefined when it is not one. */
export function parseRpmName(file: string): RpmFile | undefined {
  const m = NAME_RE.exec(file);
  if (!m) return undefined;
  const [, component, version, build, dist, arch] = m;
  if (dist && !/^el[789]$/.test(dist)) return undefined;
  const d = (dist ?? null) as RpmFile["dist"];
  return {
    file,
    path: file,
    component,
    name: `EMC-ScaleIO-${component}`,
    version,
    build,
    dist: d,
    arch: arch as RpmFile["arch"],
    versionRelease: `${version}-${build}${d ? "." + d : ""}`,
  };
}

export function dialectOf(version: string): Dialect {
  const major = Number(version.split(".")[0]);
  return major <= 1 ? "1.3x" : major === 2 ? "2.x" : "3.x";
}

/** The file name we expect for a component, for error messages. */
export function expectedName(
  component: Component,
  version: string,
  build: string,
  dist: string,
): string {
  const major = Number(version.split(".")[0]);
  if (component === "gateway") {
    return major <= 1
      ? `EMC-ScaleIO-gateway-${version}-${build}.noarch.rpm`
      : `EMC-ScaleIO-gateway-${version}-${build}.x86_64.rpm`;
  }
  return `EMC-ScaleIO-${component}-${version}-${build}.${dist}.x86_64.rpm`;
}

/** Components whose packages carry a dist tag (they contain binaries or kernel modules). */
const PLATFORM: ReadonlySet<string> = new Set(["mdm", "tb", "sds", "sdc", "lia"]);

export class RpmSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RpmSelectionError";
  }
}

const README_HINT = "See assets/rpms/README.md for the files to put there.";

/**
 * Pick the package set for `os` from `dir`, for the components `need` (the roles the topology
 * uses; `tb` is only needed with 1.3x and is added automatically when `tiebreaker` is true).
 */
export function selectRpms(
  dir: string,
  os: OsName,
  need: { components: Component[]; tiebreaker?: boolean },
): RpmSet {
  const dist = distTagOf(os);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    throw new RpmSelectionError(
      `RPM directory ${dir} does not exist or cannot be read. ${README_HINT}`,
    );
  }
  const parsed: RpmFile[] = [];
  const unknown: string[] = [];
  for (const e of entries.sort()) {
    if (!e.startsWith("EMC-ScaleIO-")) continue;
    const p = parseRpmName(e);
    if (!p) unknown.push(e);
    else parsed.push({ ...p, path: path.resolve(dir, e) });
  }
  if (unknown.length > 0) {
    throw new RpmSelectionError(
      `cannot read the version of ${unknown.join(", ")} in ${dir}: expected names like ` +
        `EMC-ScaleIO-mdm-2.0-14000.231.el7.x86_64.rpm (the vendor's file names, unchanged). ${README_HINT}`,
    );
  }
  if (parsed.length === 0) {
    throw new RpmSelectionError(
      `no ScaleIO packages (EMC-ScaleIO-*.rpm) in ${dir}. ${README_HINT}`,
    );
  }
  // Files for our OS: platform packages must carry our dist tag; the others may carry none.
  const fits = (r: RpmFile) => r.dist === dist || (r.dist === null && !PLATFORM.has(r.component));
  const usable = parsed.filter(fits);
  const otherOs = parsed.filter((r) => !fits(r));
  if (usable.filter((r) => PLATFORM.has(r.component)).length === 0) {
    const tags = [...new Set(otherOs.map((r) => r.dist ?? "no tag"))].join(", ");
    throw new RpmSelectionError(
      `the packages in ${dir} are built for ${tags}, but the stack's OS ${os} needs ${dist} packages ` +
        `(e.g. EMC-ScaleIO-mdm-<version>-<build>.${dist}.x86_64.rpm)` +
        (dist === "el9" ? "; ScaleIO ships no el9 packages: use rocky8 (3.6 el8) or centos7" : "") +
        `. ${README_HINT}`,
    );
  }
  const versions = new Map<string, string[]>();
  for (const r of usable) {
    const k = `${r.version}-${r.build}`;
    versions.set(k, [...(versions.get(k) ?? []), r.file]);
  }
  if (versions.size > 1) {
    const list = [...versions.entries()].map(([v, fs_]) => `  ${v}: ${fs_.join(", ")}`).join("\n");
    throw new RpmSelectionError(
      `${dir} mixes ScaleIO versions; all packages must be one release. Remove all but one:\n${list}`,
    );
  }
  const version = usable[0].version;
  const build = usable[0].build;
  const dialect = dialectOf(version);
  const packages: Partial<Record<Component, RpmFile>> = {};
  for (const r of usable) {
    const c = r.component as Component;
    if (packages[c]) {
      throw new RpmSelectionError(
        `${dir} holds two ${r.name} packages for ${dist}: ${packages[c]!.file} and ${r.file}`,
      );
    }
    packages[c] = r;
  }
  const want = new Set(need.components);
  if (dialect === "1.3x" && need.tiebreaker) want.add("tb");
  if (dialect !== "1.3x") want.delete("tb");
  const missing = [...want].filter((c) => !packages[c]);
  if (missing.length > 0) {
    const files = missing.map((c) => expectedName(c, version, build, dist));
    const elsewhere = otherOs
      .filter((r) => missing.includes(r.component as Component))
      .map((r) => r.file);
    throw new RpmSelectionError(
      `missing ScaleIO package(s) for ${os} in ${dir}: ${files.join(", ")}` +
        (elsewhere.length ? ` (found only for another OS: ${elsewhere.join(", ")})` : "") +
        `. ${README_HINT}`,
    );
  }
  return { dir, version, build, dialect, dist, packages };
}
