// One lab host: an overlay root over the cached base, the files that make it this host
// (hostname, address, keys, distro look), and the systemd-nspawn process that boots it.
import { spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DataDisk } from "./disks";
import { distroFiles, LabOs } from "./distro";
import { generateKey } from "./keys";
import { BRIDGE, GATEWAY_ADDRESS, REPO_PORT } from "./paths";
import { containerInit, isAlive, killQuietly, sleepSync } from "./procs";
import { run, runSync } from "./run";

export interface HostLayout {
  dir: string;
  upper: string;
  work: string;
  root: string;
  log: string;
}

export function layoutOf(stateDir: string, host: string): HostLayout {
  const dir = path.join(stateDir, "hosts", host);
  return {
    dir,
    upper: path.join(dir, "upper"),
    work: path.join(dir, "work"),
    root: path.join(dir, "root"),
    log: path.join(dir, "console.log"),
  };
}

export function isMounted(dir: string): boolean {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((l) => l.split(" ")[4] === dir);
}

export async function mountOverlay(base: string, l: HostLayout): Promise<void> {
  for (const d of [l.upper, l.work, l.root]) fs.mkdirSync(d, { recursive: true });
  if (isMounted(l.root)) return;
  await run("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${base},upperdir=${l.upper},workdir=${l.work}`,
    l.root,
  ]);
}

export interface HostIdentity {
  name: string;
  address: string;
  os: LabOs;
  /** "name address" of every host, for /etc/hosts. */
  peers: Array<{ name: string; address: string }>;
  authorizedKey: string;
}

function write(root: string, rel: string, content: string, mode = 0o644): void {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

function ownerOf(root: string, user: string): { uid: number; gid: number } {
  const line = fs
    .readFileSync(path.join(root, "etc/passwd"), "utf8")
    .split("\n")
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`lab: the base rootfs has no user ${user}; rebuild the cache`);
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** /etc/hosts naming every lab host (the only file rewritten on running hosts). */
export function writeHostsFile(root: string, peers: Array<{ name: string; address: string }>) {
  const hosts = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    `${GATEWAY_ADDRESS}\tlab-gateway`,
    ...peers.map((p) => `${p.address}\t${p.name}`),
  ];
  write(root, "etc/hosts", `${hosts.join("\n")}\n`);
}

/** Writes this host's identity into its (mounted) root. Returns the SSH host public key. */
export async function personalize(root: string, id: HostIdentity): Promise<string> {
  write(root, "etc/hostname", `${id.name}\n`);
  writeHostsFile(root, id.peers);
  if (
    !fs.existsSync(path.join(root, "etc/machine-id")) ||
    fs.readFileSync(path.join(root, "etc/machine-id"), "utf8").trim() === ""
  ) {
    write(root, "etc/machine-id", `${crypto.randomBytes(16).toString("hex")}\n`, 0o444);
  }
  write(
    root,
    "etc/systemd/network/10-lab.network",
    [
      "[Match]",
      "Name=host0",
      "",
      "[Network]",
      `Address=${id.address}/24`,
      `Gateway=${GATEWAY_ADDRESS}`,
      "LinkLocalAddressing=no",
      "IPv6AcceptRA=no",
      "",
    ].join("\n"),
  );
  for (const f of distroFiles(id.os)) {
    const file = path.join(root, f.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    if (f.link) fs.symlinkSync(f.link, file);
    else fs.writeFileSync(file, f.content);
  }
  write(
    root,
    "etc/yum.repos.d/lab.repo",
    [
      "[lab]",
      "name=Arrowhead lab repository",
      `baseurl=http://${GATEWAY_ADDRESS}:${REPO_PORT}/`,
      "enabled=1",
      "gpgcheck=0",
      "metadata_expire=0",
      "",
    ].join("\n"),
  );
  for (const user of ["root", "centos"]) {
    const home = user === "root" ? "root" : `home/${user}`;
    const own = ownerOf(root, user);
    const sshDir = path.join(root, home, ".ssh");
    fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(sshDir, 0o700);
    fs.chownSync(sshDir, own.uid, own.gid);
    const auth = path.join(sshDir, "authorized_keys");
    fs.writeFileSync(auth, `${id.authorizedKey} arrowhead-lab\n`, { mode: 0o600 });
    fs.chownSync(auth, own.uid, own.gid);
  }
  const hostKeyFile = path.join(root, "etc/ssh/ssh_host_ed25519_key");
  if (fs.existsSync(hostKeyFile)) {
    const [type, blob] = fs.readFileSync(`${hostKeyFile}.pub`, "utf8").trim().split(/\s+/);
    return `${type} ${blob}`;
  }
  return generateKey(hostKeyFile, `root@${id.name}`);
}

export interface BootSpec {
  netns: string;
  machine: string;
  hostname: string;
  layout: HostLayout;
  disks: DataDisk[];
  /** "source:target" files or directories bound read-only. */
  extraBinds?: string[];
}

// nsenter rather than `ip netns exec`: the latter remounts /sys in a new mount namespace,
// which hides the cgroup file systems nspawn needs. Why each option: --keep-unit and --register=no because there is no systemd/machined on
// this machine's host side; --capability=all and the writable API file systems let dockerd
// and mount/mknod/losetup work inside; --system-call-filter adds what Docker needs beyond
// nspawn's default allow list.
export function nspawnArgs(b: BootSpec): string[] {
  return [
    `--net=/run/netns/${b.netns}`,
    "systemd-nspawn",
    "--boot",
    "--register=no",
    "--keep-unit",
    "--quiet",
    `--machine=${b.machine}`,
    `--hostname=${b.hostname}`,
    `--directory=${b.layout.root}`,
    `--network-bridge=${BRIDGE}`,
    "--console=read-only",
    "--link-journal=no",
    "--resolv-conf=off",
    "--timezone=off",
    "--capability=all",
    "--system-call-filter=@keyring bpf @mount @swap",
    "--bind=/dev/loop-control",
    ...b.disks.map((d) => `--bind=${d.loop}:${d.guestPath}`),
    ...(b.extraBinds ?? []).map((x) => `--bind-ro=${x}`),
  ];
}

// Joins the machine's own cgroups (see cgroups.ts), then becomes nsenter/nspawn.
const JOIN_CGROUPS_AND_EXEC =
  'for d in $AHLAB_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 1; done; exec "$@"';

/** Starts the container detached from this process; returns the nspawn pid. */
export function boot(b: BootSpec, cgroups: string[]): number {
  const out = fs.openSync(b.layout.log, "a");
  const child = spawn("/bin/sh", ["-c", JOIN_CGROUPS_AND_EXEC, "sh", "nsenter", ...nspawnArgs(b)], {
    detached: true,
    stdio: ["ignore", out, out],
    env: { ...process.env, AHLAB_CGROUPS: cgroups.join(" ") },
  });
  fs.closeSync(out);
  child.unref();
  if (!child.pid) throw new Error(`lab: could not start systemd-nspawn for ${b.hostname}`);
  return child.pid;
}

/** Waits for nspawn to have created the container's init; throws with the console log if not. */
export async function waitForInit(nspawnPid: number, log: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const init = containerInit(nspawnPid);
    if (init) return init;
    if (!isAlive(nspawnPid) || Date.now() > deadline) {
      const tail = fs.existsSync(log)
        ? fs.readFileSync(log, "utf8").split("\n").slice(-20).join("\n")
        : "";
      throw new Error(`lab: systemd-nspawn did not start the container (log ${log}):\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Powers a container off: asks systemd to power off (SIGTERM to nspawn does that for --boot),
 * then kills its PID namespace if it is not gone in time.
 */
export function shutdownSync(nspawnPid: number, graceMs: number): void {
  if (!isAlive(nspawnPid)) return;
  const init = containerInit(nspawnPid);
  if (graceMs > 0) {
    killQuietly(nspawnPid, "SIGTERM");
    const deadline = Date.now() + graceMs;
    while (isAlive(nspawnPid) && Date.now() < deadline) sleepSync(100);
  }
  // SIGKILL to a PID namespace's init kills every process in it (and nested namespaces).
  if (init && isAlive(init)) killQuietly(init, "SIGKILL");
  const deadline = Date.now() + 10_000;
  while (isAlive(nspawnPid) && Date.now() < deadline) sleepSync(50);
  killQuietly(nspawnPid, "SIGKILL");
}

export function unmountSync(dir: string): void {
  if (isMounted(dir)) runSync("umount", ["-l", dir], { allowFail: true });
}
