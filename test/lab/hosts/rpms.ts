// Small RPMs the lab builds itself: stand-ins for the EL prerequisites the installer
// `yum install`s (the real Debian tools are already in the base image), and a package that
// tells the RPM database what the Debian base provides, so RPMs with ordinary requirements
// (/bin/sh, python3, systemd) install with yum without --nodeps.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "./run";

export interface StandinSpec {
  name: string;
  version: string;
  summary: string;
  provides?: string[];
}

/** EL names the installer installs; each is satisfied by a Debian package in the base image. */
export const EL_PREREQUISITES: ReadonlyArray<{ name: string; version: string; realThing: string }> =
  [
    { name: "numactl", version: "2.0.12", realThing: "Debian numactl" },
    { name: "libaio", version: "0.3.109", realThing: "Debian libaio1" },
    { name: "bash-completion", version: "2.1", realThing: "Debian bash-completion" },
    { name: "python", version: "2.7.5", realThing: "Debian python3 (python-is-python3)" },
    { name: "java-1.8.0-openjdk", version: "1.8.0.412", realThing: "nothing: no JRE in the lab" },
    { name: "docker", version: "1.13.1", realThing: "Debian docker.io" },
    { name: "docker-ce", version: "20.10.24", realThing: "Debian docker.io" },
    { name: "mutt", version: "1.5.21", realThing: "nothing: no mail in the lab" },
    { name: "python-paramiko", version: "2.1.1", realThing: "Debian python3-paramiko" },
    { name: "wget", version: "1.14", realThing: "Debian wget" },
    { name: "which", version: "2.20", realThing: "Debian debianutils" },
    { name: "sudo", version: "1.8.23", realThing: "Debian sudo" },
    { name: "net-tools", version: "2.0", realThing: "Debian net-tools" },
    { name: "openssl", version: "1.0.2k", realThing: "Debian openssl" },
  ];

/** Capabilities (and paths) of the Debian base, declared to rpm by `arrowhead-lab-base`. */
export const BASE_PROVIDES: readonly string[] = [
  "/bin/sh",
  "/bin/bash",
  "/usr/bin/sh",
  "/usr/bin/bash",
  "/usr/bin/env",
  "/usr/bin/python3",
  "/usr/bin/python",
  "/usr/bin/perl",
  "/sbin/ldconfig",
  "/usr/bin/systemctl",
  "/usr/sbin/useradd",
  "/usr/sbin/groupadd",
  "bash",
  "sh",
  "coreutils",
  "glibc",
  "systemd",
  "systemd-units",
  "python3",
  "shadow-utils",
  "util-linux",
  "procps-ng",
  "iproute",
  "kmod",
  "e2fsprogs",
  "xfsprogs",
  "openssh-server",
  "libc.so.6()(64bit)",
  "libpthread.so.0()(64bit)",
  "libdl.so.2()(64bit)",
  "librt.so.1()(64bit)",
  "libm.so.6()(64bit)",
];

function specText(s: StandinSpec): string {
  const lines = [
    `Name: ${s.name}`,
    `Version: ${s.version}`,
    `Release: 1.lab`,
    `Summary: ${s.summary}`,
    `License: Apache-2.0`,
    `BuildArch: noarch`,
    ...(s.provides ?? []).map((p) => `Provides: ${p}`),
    ``,
    `%description`,
    `${s.summary}. Built by the Arrowhead test lab; contains no files.`,
    ``,
    `%files`,
    ``,
  ];
  return lines.join("\n");
}

/** Builds one file-less noarch RPM into outDir and returns its path. */
export async function buildStandin(s: StandinSpec, outDir: string): Promise<string> {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), "ahlab-rpm-"));
  try {
    const spec = path.join(top, `${s.name}.spec`);
    fs.writeFileSync(spec, specText(s));
    await run("rpmbuild", [
      "-bb",
      "--quiet",
      "--define",
      `_topdir ${top}`,
      "--define",
      `_rpmdir ${outDir}`,
      "--define",
      "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm",
      spec,
    ]);
    const file = path.join(outDir, `${s.name}-${s.version}-1.lab.noarch.rpm`);
    if (!fs.existsSync(file)) {
      throw new Error(`lab: rpmbuild did not produce ${file}`);
    }
    return file;
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
}

export function baseProvidesSpec(): StandinSpec {
  return {
    name: "arrowhead-lab-base",
    version: "1",
    summary: "Arrowhead lab stand-in declaring what the Debian base image provides",
    provides: [...BASE_PROVIDES],
  };
}

/** All EL prerequisite stand-ins into outDir (skipping ones already built there). */
export async function buildPrerequisiteStandins(outDir: string): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  for (const p of EL_PREREQUISITES) {
    const file = path.join(outDir, `${p.name}-${p.version}-1.lab.noarch.rpm`);
    if (fs.existsSync(file)) {
      files.push(file);
      continue;
    }
    files.push(
      await buildStandin(
        {
          name: p.name,
          version: p.version,
          summary: `Arrowhead lab stand-in for ${p.name} (real thing: ${p.realThing})`,
        },
        outDir,
      ),
    );
  }
  return files;
}
