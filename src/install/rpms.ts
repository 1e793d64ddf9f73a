// Package discovery: find the vendor packages the user dropped in a directory, parse their
// names (reference §2), and pick one consistent set for the stack's OS. The directory may hold
// a whole vendor bundle as it unpacks: packages for other OSes and distributions (SLES, Ubuntu,
// other elN), components this stack never installs (GUI, callhome, xcache, mgmt-server...) are
// set aside with one note each kind. Every problem is found here, before any host is touched,
// and the error names the file(s).
import * as fs from "fs";
import * as path from "path";
import { distTagOf, type OsName } from "../machine";

export type Component = "mdm" | "tb" | "sds" | "sdc" | "lia" | "gateway";
export type Dialect = "1.3x" | "2.x" | "3.x";

/** The components this stack installs; any other EMC-ScaleIO-* package is set aside. */
export const COMPONENTS: readonly Component[] = ["mdm", "tb", "sds", "sdc", "lia", "gateway"];

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
  /** The release's major.minor, e.g. "2.0". */
  version: string;
  /** The MDM package's build (the first selected package's when there is no MDM package). */
  build: string;
  dialect: Dialect;
  dist: "el7" | "el8" | "el9";
  packages: Partial<Record<Component, RpmFile>>;
  /**
   * One line per kind of file set aside (other OS/distribution, components never installed)
   * and a warning when the components carry different builds of one release. For the user's
   * log; empty when the directory holds exactly one set.
   */
  notes: string[];
}

/**
 * Any vendor package name: component, major.minor, build, an optional platform tag (el7,
 * sle12.2, Ubuntu.14.04, xs6.5...), arch, extension. Narrower rules are applied afterwards.
 */
const ANY_RE =
  /^EMC-ScaleIO-([a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*)-(\d+\.\d+)-(\d+(?:\.\d+)*)\.(?:([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*?)\.)?(x86_64|noarch|amd64|i686|i386|aarch64|ppc64le)\.(rpm|deb)$/;

/** What a vendor file name says, for any OS (undefined when it is not a vendor package name). */
export interface VendorName {
  component: string;
  version: string;
  build: string;
  /** Platform tag as written ("el7", "sle12.2", "Ubuntu.14.04"), or null when there is none. */
  platform: string | null;
  arch: string;
  ext: "rpm" | "deb";
}

/** Parse any vendor package name (all OSes); undefined when it does not follow the pattern. */
export function parseVendorName(file: string): VendorName | undefined {
  const m = ANY_RE.exec(file);
  if (!m) return undefined;
  const [, component, version, build, platform, arch, ext] = m;
  return { component, version, build, platform: platform ?? null, arch, ext: ext as "rpm" | "deb" };
}

/**
 * Parse a vendor file name of an EL package this installer can use (`elN` or no tag, x86_64 or
 * noarch, .rpm); undefined for anything else (other distributions, other arches, other names).
 */
export function parseRpmName(file: string): RpmFile | undefined {
  const v = parseVendorName(file);
  if (!v || v.ext !== "rpm" || (v.arch !== "x86_64" && v.arch !== "noarch")) return undefined;
  if (v.platform !== null && !/^el[789]$/.test(v.platform)) return undefined;
  const d = v.platform as RpmFile["dist"];
  return {
    file,
    path: file,
    component: v.component,
    name: `EMC-ScaleIO-${v.component}`,
    version: v.version,
    build: v.build,
    dist: d,
    arch: v.arch,
    versionRelease: `${v.version}-${v.build}${d ? "." + d : ""}`,
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

/** Where a file in the directory went, and why. */
type Sorted =
  | { kind: "use"; rpm: RpmFile }
  | { kind: "other-os"; file: string; platform: string; rpm?: RpmFile }
  | { kind: "not-installed"; file: string; component: string }
  | { kind: "not-package"; file: string }
  | { kind: "unreadable"; file: string };

/** Sort one directory entry (named EMC-ScaleIO-*) for a stack whose OS needs `dist`. */
function sortEntry(dir: string, file: string, dist: string): Sorted {
  const v = parseVendorName(file);
  if (!v) {
    // A vendor bundle also unpacks Windows/ESX installers, archives and docs: only a name
    // that claims to be an RPM and cannot be read is an error.
    if (!/\.rpm$/i.test(file)) return { kind: "not-package", file };
    return { kind: "unreadable", file };
  }
  if (!(COMPONENTS as readonly string[]).includes(v.component))
    return { kind: "not-installed", file, component: v.component };
  if (v.ext !== "rpm") return { kind: "other-os", file, platform: v.platform ?? v.ext };
  if (v.arch !== "x86_64" && v.arch !== "noarch")
    return { kind: "other-os", file, platform: v.arch };
  const rpm = parseRpmName(file);
  if (!rpm) return { kind: "other-os", file, platform: v.platform ?? "unknown" };
  const withPath = { ...rpm, path: path.resolve(dir, file) };
  // Platform packages must carry our dist tag; the gateway may carry none.
  const fits = rpm.dist === dist || (rpm.dist === null && !PLATFORM.has(rpm.component));
  if (!fits) return { kind: "other-os", file, platform: rpm.dist ?? "no OS tag", rpm: withPath };
  return { kind: "use", rpm: withPath };
}

/**
 * Pick the package set for `os` from `dir`, for the components `need` (the roles the topology
 * uses; `tb` is only needed with 1.3x and is added automatically when `tiebreaker` is true).
 *
 * Rules (vendor file names, reference §2): files for another OS or distribution (`.deb`,
 * `sleNN`, `Ubuntu.NN.NN`, another `elN`, non-RPM installers) and components this stack never
 * installs are set aside, one note per kind; the packages used must be one release (one
 * major.minor); different builds of different components of that release are accepted with a
 * warning note (vendor 1.32 bundles ship them so); two files of one component, or two
 * releases, are refused naming the files. Throws RpmSelectionError.
 */
export function selectRpms(
  dir: string,
  os: OsName,
  need: { components: Component[]; tiebreaker?: boolean },
): RpmSet {
  const dist = distTagOf(os);
  const sorted = readEntries(dir, dist);
  const usable = sorted.flatMap((s) => (s.kind === "use" ? [s.rpm] : []));
  const otherOs = sorted.flatMap((s) => (s.kind === "other-os" ? [s] : []));
  if (usable.filter((r) => PLATFORM.has(r.component)).length === 0) {
    const tags = [...new Set(otherOs.map((r) => r.platform))].join(", ");
    throw new RpmSelectionError(
      `the packages in ${dir} are built for ${tags || "nothing this stack installs"}, but the stack's OS ${os} needs ${dist} packages ` +
        `(e.g. EMC-ScaleIO-mdm-<version>-<build>.${dist}.x86_64.rpm)` +
        (dist === "el9" ? "; ScaleIO ships no el9 packages: use rocky8 (3.6 el8) or centos7" : "") +
        `. ${README_HINT}`,
    );
  }
  const packages = oneReleaseOnePerComponent(dir, dist, usable);
  const version = usable[0].version;
  const dialect = dialectOf(version);
  const build = (packages.mdm ?? packages.tb ?? usable[0]).build;
  const want = new Set(need.components);
  if (dialect === "1.3x" && need.tiebreaker) want.add("tb");
  if (dialect !== "1.3x") want.delete("tb");
  const missing = [...want].filter((c) => !packages[c]);
  if (missing.length > 0) {
    const files = missing.map((c) => expectedName(c, version, build, dist));
    const elsewhere = otherOs
      .filter((r) => r.rpm && missing.includes(r.rpm.component as Component))
      .map((r) => r.file);
    throw new RpmSelectionError(
      `missing ScaleIO package(s) for ${os} in ${dir}: ${files.join(", ")}` +
        (elsewhere.length ? ` (found only for another OS: ${elsewhere.join(", ")})` : "") +
        `. ${README_HINT}`,
    );
  }
  const notes = setAsideNotes(sorted, os, dist);
  const builds = new Map<string, string[]>();
  for (const r of usable) builds.set(r.build, [...(builds.get(r.build) ?? []), r.component]);
  if (builds.size > 1) {
    notes.push(
      `warning: the ScaleIO ${version} packages carry different builds (` +
        [...builds.entries()].map(([b, cs]) => `${b}: ${cs.join(", ")}`).join("; ") +
        `); accepted as one release, as vendor bundles ship them. If the cluster misbehaves, use the files of one bundle.`,
    );
  }
  return { dir, version, build, dialect, dist, packages, notes };
}

/** The ScaleIO files in `dir`, each sorted (sortEntry); refused when one cannot be read or none is there. */
function readEntries(dir: string, dist: string): Sorted[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    throw new RpmSelectionError(
      `RPM directory ${dir} does not exist or cannot be read. ${README_HINT}`,
    );
  }
  const sorted = entries
    .sort()
    .filter((e) => e.startsWith("EMC-ScaleIO-"))
    .map((e) => sortEntry(dir, e, dist));
  const unknown = sorted.flatMap((s) => (s.kind === "unreadable" ? [s.file] : []));
  if (unknown.length > 0) {
    throw new RpmSelectionError(
      `cannot read the version of ${unknown.join(", ")} in ${dir}: expected names like ` +
        `EMC-ScaleIO-mdm-2.0-14000.231.el7.x86_64.rpm (the vendor's file names, unchanged). ${README_HINT}`,
    );
  }
  if (sorted.length === 0) {
    throw new RpmSelectionError(
      `no ScaleIO packages (EMC-ScaleIO-*.rpm) in ${dir}. ${README_HINT}`,
    );
  }
  return sorted;
}

/** The usable packages by component: one release (major.minor), one file per component. */
function oneReleaseOnePerComponent(
  dir: string,
  dist: string,
  usable: RpmFile[],
): Partial<Record<Component, RpmFile>> {
  const releases = new Map<string, string[]>();
  for (const r of usable) releases.set(r.version, [...(releases.get(r.version) ?? []), r.file]);
  if (releases.size > 1) {
    const list = [...releases.entries()].map(([v, fs_]) => `  ${v}: ${fs_.join(", ")}`).join("\n");
    throw new RpmSelectionError(
      `${dir} mixes ScaleIO versions for ${dist}; all packages must be one release. Remove all but one:\n${list}`,
    );
  }
  const packages: Partial<Record<Component, RpmFile>> = {};
  const twice = new Map<string, string[]>();
  for (const r of usable) {
    const c = r.component as Component;
    if (packages[c]) twice.set(c, [...(twice.get(c) ?? [packages[c]!.file]), r.file]);
    else packages[c] = r;
  }
  if (twice.size > 0) {
    const list = [...twice.entries()].map(([c, fs_]) => `  ${c}: ${fs_.join(", ")}`).join("\n");
    throw new RpmSelectionError(
      `${dir} holds more than one build of the same ScaleIO component for ${dist}; keep one file per component:\n${list}`,
    );
  }
  return packages;
}

/** One note per kind of file set aside: another OS, a component never installed, not a package. */
function setAsideNotes(sorted: Sorted[], os: OsName, dist: string): string[] {
  const otherOs = sorted.flatMap((s) => (s.kind === "other-os" ? [s] : []));
  const notInstalled = sorted.flatMap((s) => (s.kind === "not-installed" ? [s] : []));
  const notPackages = sorted.flatMap((s) => (s.kind === "not-package" ? [s.file] : []));
  const notes: string[] = [];
  if (otherOs.length > 0) {
    notes.push(
      `ignoring ${otherOs.length} file(s) for another OS or distribution (the stack's OS ${os} uses ${dist}): ` +
        otherOs.map((r) => r.file).join(", "),
    );
  }
  if (notInstalled.length > 0) {
    const comps = [...new Set(notInstalled.map((r) => r.component))].join(", ");
    notes.push(
      `ignoring ${notInstalled.length} package(s) of components this stack never installs (${comps}): ` +
        notInstalled.map((r) => r.file).join(", "),
    );
  }
  if (notPackages.length > 0) {
    notes.push(
      `ignoring ${notPackages.length} file(s) that are not RPM or DEB packages (other platforms' installers, archives, checksums): ` +
        notPackages.join(", "),
    );
  }
  return notes;
}
