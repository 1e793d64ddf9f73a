// Checks before the demo touches anything: Linux, root, the host commands the lab and the
// emulator's packaging need (named by Debian/Ubuntu package, with the apt-get line), Go for the
// volume plugin, and the loopback ports. Each problem says what is wrong and how to fix it.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export interface Problem {
  what: string;
  fix: string;
}

/** Command on PATH -> the Debian/Ubuntu package that provides it. */
export const NEEDED_COMMANDS: Record<string, string> = {
  debootstrap: "debootstrap",
  "systemd-nspawn": "systemd-container",
  rpmbuild: "rpm",
  createrepo_c: "createrepo-c",
  ip: "iproute2",
  losetup: "util-linux",
  nsenter: "util-linux",
  ssh: "openssh-client",
  "ssh-keygen": "openssh-client",
  python3: "python3",
  openssl: "openssl",
  "mkfs.ext4": "e2fsprogs",
};

/** The Go release the volume plugin's go.mod needs (README: Go 1.26+). */
const GO_MIN: [number, number] = [1, 26];

/** True when `cmd` is an executable file in one of PATH's folders (where the lab looks). */
export function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(":").some((d) => {
    try {
      fs.accessSync(path.join(d, cmd), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Linux and root: without both nothing else is worth checking. */
export function platformProblems(): Problem[] {
  if (process.platform !== "linux") {
    return [
      {
        what: `this is ${process.platform}, not Linux: the demo's hosts are systemd-nspawn containers`,
        fix: "run it on a Linux machine or VM (Debian 12 or Ubuntu 22.04+)",
      },
    ];
  }
  if (process.getuid?.() !== 0) {
    return [
      {
        what: "not running as root: the demo creates network namespaces, mounts and loop devices",
        fix: "run it as root: sudo npm run demo (or from a root shell)",
      },
    ];
  }
  return [];
}

/** Missing commands, as one problem with the apt-get line that installs them all. */
export function packageProblems(): Problem[] {
  const missing = Object.entries(NEEDED_COMMANDS).filter(([cmd]) => !onPath(cmd));
  if (missing.length === 0) return [];
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))];
  return [
    {
      what: `missing command(s): ${missing.map(([c]) => c).join(", ")}`,
      fix: `apt-get install -y --no-install-recommends ${pkgs.join(" ")}`,
    },
  ];
}

/** Go on PATH at GO_MIN or later (it builds the Docker volume plugin from driver/). */
export function goProblems(): Problem[] {
  const fix =
    `install Go ${GO_MIN.join(".")} or later from https://go.dev/dl/ and put its bin folder on ` +
    "PATH (e.g. export PATH=/usr/local/go/bin:$PATH); Debian's golang package is too old";
  const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
  if (r.error || r.status !== 0) return [{ what: "`go` is not on PATH", fix }];
  const m = /^go(\d+)\.(\d+)/.exec(r.stdout.trim());
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (major > GO_MIN[0] || (major === GO_MIN[0] && minor >= GO_MIN[1])) return [];
  return [{ what: `Go on PATH is ${r.stdout.trim() || "of unknown version"}`, fix }];
}

/** Whether 127.0.0.1:port can be listened on now (false: someone holds it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** The ports of `ports` that are taken, as one problem naming them and how to free or move them. */
export async function portProblems(ports: number[]): Promise<Problem[]> {
  const taken: number[] = [];
  for (const p of ports) if (!(await portFree(p))) taken.push(p);
  if (taken.length === 0) return [];
  return [
    {
      what: `127.0.0.1 port(s) ${taken.join(", ")} already in use (the demo's SSH ports are ${ports.join(", ")})`,
      fix:
        `see what holds them with: ss -ltnp '( sport = :${taken[0]} )'; stop it, or move the ` +
        `demo's ports: ARROWHEAD_DEMO_PORT=${ports[0] + 100} npm run demo`,
    },
  ];
}

/** Throws one error listing every problem (what, then the fix), or returns when there is none. */
export function failOn(problems: Problem[]): void {
  if (problems.length === 0) return;
  const lines = problems.map((p) => `  - ${p.what}\n    fix: ${p.fix}`);
  throw new PreflightError(`the demo cannot start:\n${lines.join("\n")}`);
}

/** A problem found before anything was changed (exit status 2). */
export class PreflightError extends Error {}
