// Emulated hosts without the lab: each "host" is an overlay of this machine's own root (writes go
// to a tmpfs), chrooted, with a private /dev and its own network namespace on a private bridge.
// No systemd runs inside, so services are started from their unit's ExecStart by this module.
// Needs root. Everything lives under BASE and is removed by teardownLocalHosts(), which is also
// run first so that a test run that died leaves nothing behind for the next one.
import { execFile, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export const BASE = "/tmp/arrowhead-emu";
const BRIDGE = "emubr0";
/** A private subnet nothing else on this machine uses; the bridge gets .254. */
export const SUBNET = "10.213.77";
const LOOPS = 128;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface LocalHost {
  name: string;
  ip: string;
  /** The host's root as seen from this machine. */
  root: string;
  netns: string;
}

/** Run cmd with /bin/sh, stdin closed (a command that asks, e.g. scli's certificate prompt, fails). */
async function sh(cmd: string, allowFail = false): Promise<ExecResult> {
  try {
    const running = execFileP("/bin/sh", ["-c", cmd], { maxBuffer: 64 * 1024 * 1024 });
    running.child.stdin?.end();
    const { stdout, stderr } = await running;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    const r = {
      code: typeof err.code === "number" ? err.code : 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
    if (!allowFail) throw new Error(`command failed (${r.code}): ${cmd}\n${r.stderr}${r.stdout}`);
    return r;
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Processes whose root directory is inside BASE: only ever ones this module started. */
function processesUnderBase(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const root = fs.readlinkSync(`/proc/${entry}/root`);
      if (root.startsWith(BASE + "/")) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

/** Loop devices whose backing file lives under BASE (SDC volumes and SDS disks). */
function loopsUnderBase(): string[] {
  const found: string[] = [];
  for (const dev of fs.readdirSync("/sys/block").filter((d) => d.startsWith("loop"))) {
    try {
      const file = fs.readFileSync(`/sys/block/${dev}/loop/backing_file`, "utf8").trim();
      if (file.startsWith(BASE + "/")) found.push(`/dev/${dev}`);
    } catch {
      // not attached
    }
  }
  return found;
}

async function killAll(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (let i = 0; i < 50 && pids.some((p) => fs.existsSync(`/proc/${p}`)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + "/")))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await sh(`umount -l ${q(m)}`, true);
}

// One test process at a time owns the emulated hosts (fixed names, addresses and bridge): a
// second run waits for the first instead of tearing its hosts down under it.
const LOCK = `${BASE}.lock`;
const LOCK_WAIT_MS = 30 * 60_000;

function lockOwner(): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(LOCK, "pid"), "utf8"));
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** True when another live process holds the emulated hosts. */
function heldByOther(): boolean {
  const pid = lockOwner();
  return pid !== undefined && pid !== process.pid && isAlive(pid);
}

async function acquireHostsLock(): Promise<void> {
  const end = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      fs.writeFileSync(path.join(LOCK, "pid"), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const pid = lockOwner();
    if (pid === process.pid) return;
    let age = 0;
    try {
      age = Date.now() - fs.statSync(LOCK).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if ((pid !== undefined && !isAlive(pid)) || (pid === undefined && age > 30_000)) {
      fs.rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > end) {
      throw new Error(
        `the emulated hosts under ${BASE} are in use by process ${pid} (another emulator test run); ` +
          `waited ${LOCK_WAIT_MS / 60_000} min. Run one emulator test at a time.`,
      );
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/**
 * Remove every emulated host, also what a dead run left. Does nothing while another live test
 * process holds them.
 */
export async function teardownLocalHosts(): Promise<void> {
  if (heldByOther()) return;
  DISKS.clear();
  await killAll(processesUnderBase());
  // Filesystems on SDC devices first, then the loops, then the host trees.
  const dirs = fs.existsSync(BASE) ? fs.readdirSync(BASE) : [];
  for (const d of dirs) await unmountUnder(path.join(BASE, d, "root", "mnt"));
  for (const loop of loopsUnderBase()) await sh(`losetup -d ${loop}`, true);
  await unmountUnder(BASE);
  for (const ns of (await sh("ip netns list", true)).stdout.split("\n")) {
    const name = ns.split(" ")[0];
    if (name.startsWith("emu-")) await sh(`ip netns delete ${name}`, true);
  }
  await sh(`ip link delete ${BRIDGE}`, true);
  fs.rmSync(BASE, { recursive: true, force: true });
  if (lockOwner() === process.pid) fs.rmSync(LOCK, { recursive: true, force: true });
}

async function makeDev(dev: string): Promise<void> {
  await sh(`mount -t tmpfs -o mode=755 devtmp ${q(dev)}`);
  const nodes = [
    "null c 1 3",
    "zero c 1 5",
    "full c 1 7",
    "random c 1 8",
    "urandom c 1 9",
    "tty c 5 0",
    "loop-control c 10 237",
    ...Array.from({ length: LOOPS }, (_, i) => `loop${i} b 7 ${i}`),
  ];
  await sh(
    nodes
      .map(
        (n) =>
          `mknod -m 666 ${q(path.join(dev, n.split(" ")[0]))} ${n.split(" ").slice(1).join(" ")}`,
      )
      .join(" && ") +
      ` && mkdir -p ${q(dev)}/disk/by-id ${q(dev)}/shm && ln -s /proc/self/fd ${q(dev)}/fd`,
  );
}

/** Create hosts named names[i] with IPs SUBNET.(11+i). */
export async function startLocalHosts(names: string[]): Promise<LocalHost[]> {
  await acquireHostsLock();
  await teardownLocalHosts();
  // Tearing down released the lock (ours): take it again for the life of these hosts.
  await acquireHostsLock();
  fs.mkdirSync(BASE, { recursive: true });
  // A private tmpfs: nothing mounted below it propagates anywhere else.
  await sh(`mount -t tmpfs -o size=16g emuhosts ${BASE} && mount --make-private ${BASE}`);
  await sh(
    `ip link add ${BRIDGE} type bridge && ip addr add ${SUBNET}.254/24 dev ${BRIDGE} && ip link set ${BRIDGE} up`,
  );
  const hosts: LocalHost[] = [];
  for (const [i, name] of names.entries()) {
    const dir = path.join(BASE, name);
    const root = path.join(dir, "root");
    fs.mkdirSync(path.join(dir, "upper"), { recursive: true });
    fs.mkdirSync(path.join(dir, "work"), { recursive: true });
    fs.mkdirSync(root, { recursive: true });
    await sh(
      `mount -t overlay overlay -o lowerdir=/,upperdir=${dir}/upper,workdir=${dir}/work ${root}`,
    );
    await sh(`mount -t proc proc ${root}/proc && mount --rbind /sys ${root}/sys`);
    await sh(`mount --make-rslave ${root}/sys`);
    await sh(`mount -t tmpfs tmp ${root}/run && mount -t tmpfs tmp ${root}/tmp`);
    await makeDev(path.join(root, "dev"));
    // The host's own packages and state must not leak in from this machine.
    for (const d of ["opt/emc", "etc/emc", "var/lib/scaleio-emu", "var/lib/rpm", "root/.scaleio"]) {
      fs.rmSync(path.join(root, d), { recursive: true, force: true });
    }
    fs.writeFileSync(path.join(root, "etc/hostname"), name + "\n");
    const ns = `emu-${name}`;
    const ip = `${SUBNET}.${11 + i}`;
    // A run killed mid-way can leave daemons whose chroot was lazily unmounted (so they no
    // longer look like ours) holding their namespace, and its veth, alive. Deleting our end of
    // the old veth unplugs them without touching any process.
    await sh(`ip link delete ve-${name}`, true);
    await sh(
      [
        `ip netns add ${ns}`,
        `ip link add ve-${name} type veth peer name eth0 netns ${ns}`,
        `ip link set ve-${name} master ${BRIDGE} up`,
        `ip -n ${ns} addr add ${ip}/24 dev eth0`,
        `ip -n ${ns} link set eth0 up`,
        `ip -n ${ns} link set lo up`,
      ].join(" && "),
    );
    hosts.push({ name, ip, root, netns: ns });
  }
  return hosts;
}

const ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C";

function inHost(h: LocalHost, cmd: string): string {
  return `nsenter --net=/run/netns/${h.netns} chroot ${q(h.root)} /usr/bin/env -i ${ENV} /bin/sh -c ${q(cmd)}`;
}

/** Run a shell command inside the host; never throws on a non-zero exit. */
export async function hostExec(h: LocalHost, cmd: string): Promise<ExecResult> {
  return sh(inHost(h, cmd), true);
}

function execStartOf(h: LocalHost, service: string): string {
  const unit = fs.readFileSync(
    path.join(h.root, "usr/lib/systemd/system", `${service}.service`),
    "utf8",
  );
  const line = unit.split("\n").find((l) => l.startsWith("ExecStart="));
  if (!line) throw new Error(`${service}.service on ${h.name} has no ExecStart`);
  return line.slice("ExecStart=".length);
}

/** Start a service the way systemd would (its ExecStart), logging to /var/log/<service>.log. */
export function startService(h: LocalHost, service: string): number {
  const cmd = `exec ${execStartOf(h, service)} >>/var/log/${service}.log 2>&1`;
  const child = spawn("/bin/sh", ["-c", inHost(h, cmd)], { detached: true, stdio: "ignore" });
  child.unref();
  if (!child.pid) throw new Error(`could not start ${service} on ${h.name}`);
  return child.pid;
}

/** Stop a service: kill the processes of this host running its ExecStart. */
export async function stopService(h: LocalHost, service: string): Promise<void> {
  const exe = execStartOf(h, service).split(" ")[0];
  const pids = processesUnderBase().filter((pid) => {
    try {
      const root = fs.readlinkSync(`/proc/${pid}/root`);
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return root === h.root && cmdline.includes(exe);
    } catch {
      return false;
    }
  });
  await killAll(pids);
}

/** A power cut and boot: every process dies, mounts and loop devices go, /dev starts empty. */
export async function rebootHost(h: LocalHost, services: string[]): Promise<void> {
  await killAll(
    processesUnderBase().filter((pid) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/root`) === h.root;
      } catch {
        return false;
      }
    }),
  );
  await unmountUnder(path.join(h.root, "mnt"));
  for (const dev of fs.readdirSync("/sys/block").filter((d) => d.startsWith("loop"))) {
    try {
      const file = fs.readFileSync(`/sys/block/${dev}/loop/backing_file`, "utf8").trim();
      // The kernel may name the overlay path or the upper layer's: both are under the host dir.
      if (
        file.startsWith(path.join(BASE, h.name) + "/") &&
        file.includes("/var/lib/scaleio-emu/")
      ) {
        await sh(`losetup -d /dev/${dev}`, true);
      }
    } catch {
      // not attached
    }
  }
  const dev = path.join(h.root, "dev");
  await sh(`umount -l ${q(dev)}`);
  await makeDev(dev);
  // Raw disks are hardware: they are there again after the boot.
  for (const disk of DISKS.get(h.name) ?? []) await mknodFor(h, disk.name, disk.loop);
  await sh(`umount -l ${q(h.root)}/run && mount -t tmpfs tmp ${q(h.root)}/run`);
  for (const s of services) startService(h, s);
}

/**
 * Give the host a raw disk at /dev/<name> of sizeGb (sparse, in the host's tmpfs), like the
 * lab's /dev/vdb. Returns the loop device backing it.
 */
export async function addDisk(h: LocalHost, name: string, sizeGb: number): Promise<string> {
  const file = path.join(h.root, "..", `${name}.disk`);
  await sh(`truncate -s ${sizeGb}G ${q(file)}`);
  const loop = (await sh(`losetup --find --show ${q(file)}`)).stdout.trim();
  await mknodFor(h, name, loop);
  DISKS.set(h.name, [...(DISKS.get(h.name) ?? []), { name, loop }]);
  return loop;
}

const DISKS = new Map<string, { name: string; loop: string }[]>();

async function mknodFor(h: LocalHost, name: string, loop: string): Promise<void> {
  const [major, minor] = fs
    .readFileSync(`/sys/block/${path.basename(loop)}/dev`, "utf8")
    .trim()
    .split(":");
  await sh(`mknod -m 660 ${q(path.join(h.root, "dev", name))} b ${major} ${minor}`);
}
