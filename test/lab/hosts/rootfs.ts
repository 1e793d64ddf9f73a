// The cached base root filesystem every lab host boots from (read-only lower layer of each
// host's overlay). Built once with debootstrap; rebuilt when the package list or the
// customization below changes (both feed the cache key).
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { cacheRoot } from "./paths";
import { baseProvidesSpec, buildStandin } from "./rpms";
import { run } from "./run";
import { withLock } from "./lock";
import { mountsUnder, removeTree } from "./fsutil";

const SUITE = "bookworm";
const MIRROR = "http://deb.debian.org/debian";

/** Debian packages inside every host. EL names the installer uses map onto these. */
export const BASE_PACKAGES: readonly string[] = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "sudo",
  "iproute2",
  "iputils-ping",
  "python3",
  "python-is-python3",
  "python3-paramiko",
  // debootstrap does not resolve virtual packages: paramiko needs cffi's backend named.
  "python3-cffi-backend",
  "openssl",
  "curl",
  "wget",
  "ca-certificates",
  "util-linux",
  "kmod",
  "rpm",
  "dnf",
  "xfsprogs",
  "e2fsprogs",
  "docker.io",
  "busybox-static",
  "procps",
  "numactl",
  "libaio1",
  "bash-completion",
  "net-tools",
  "less",
];

// Runs inside the new rootfs (chroot). Everything here is what a cloud image would have set up,
// minus what a container cannot or should not do.
const CUSTOMIZE = `set -eu
export DEBIAN_FRONTEND=noninteractive
# Cloud-image user: sudo without password, like centos/rocky images.
useradd -m -s /bin/bash -U centos
echo 'centos ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/90-cloud-init-users
chmod 0440 /etc/sudoers.d/90-cloud-init-users
# Host keys are generated per host at lab start (tests pin them).
rm -f /etc/ssh/ssh_host_*
mkdir -p /etc/ssh/sshd_config.d
printf 'HostKey /etc/ssh/ssh_host_ed25519_key\\nPasswordAuthentication no\\nKbdInteractiveAuthentication no\\nUseDNS no\\n' > /etc/ssh/sshd_config.d/50-lab.conf
# pam_loginuid cannot write /proc/self/loginuid in a container; sessions must not need it.
sed -i 's/^session\\s\\+required\\s\\+pam_loginuid.so/session optional pam_loginuid.so/' /etc/pam.d/sshd /etc/pam.d/login 2>/dev/null || true
# Like EL: Docker is installed but not enabled until someone enables it.
systemctl disable docker.service docker.socket containerd.service >/dev/null 2>&1 || true
systemctl enable systemd-networkd.service >/dev/null 2>&1
systemctl mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \\
  e2scrub_all.timer e2scrub_reap.service fstrim.timer >/dev/null 2>&1
# EL has yum; Debian's dnf ships no yum command.
printf '#!/bin/sh\\n# Arrowhead lab: EL hosts have yum; here it is dnf.\\nexec /usr/bin/dnf "$@"\\n' > /usr/bin/yum
chmod 0755 /usr/bin/yum
mkdir -p /etc/yum.repos.d /etc/dnf/vars /etc/yum/vars
# What a container lacks that a VM has: loop device nodes (no udev here; losetup --find needs
# them), and writable cgroup v1 controllers (nspawn mounts them read-only on a cgroup v1/hybrid
# machine; dockerd/runc must create cgroups). On a pure cgroup v2 machine there is nothing to do.
cat > /usr/local/sbin/lab-container-setup <<'SCRIPT'
#!/usr/bin/python3
# One process for all nodes: a shell loop of mknod forks takes seconds on a busy machine.
import grp, os, stat, subprocess
disk = grp.getgrnam("disk").gr_gid
for i in range(256):
    p = "/dev/loop%d" % i
    if not os.path.exists(p):
        os.mknod(p, 0o660 | stat.S_IFBLK, os.makedev(7, i))
        os.chown(p, 0, disk)
for line in open("/proc/self/mountinfo"):
    pre, post = line.split(" - ")
    mnt, fstype, opts = pre.split()[4], post.split()[0], pre.split()[5]
    if fstype == "cgroup" and "ro" in opts.split(",") and not mnt.endswith("/systemd"):
        subprocess.run(["mount", "-o", "remount,bind,rw", mnt], check=False)
SCRIPT
chmod 0755 /usr/local/sbin/lab-container-setup
cat > /etc/systemd/system/lab-container-setup.service <<'UNIT'
[Unit]
Description=Arrowhead lab: loop device nodes and writable cgroups (container, not VM)
DefaultDependencies=no
Before=sysinit.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/lab-container-setup

[Install]
WantedBy=sysinit.target
UNIT
systemctl enable lab-container-setup.service >/dev/null 2>&1
# Each host gets its own machine-id at lab start.
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
ln -s /etc/machine-id /var/lib/dbus/machine-id
# Debian's rpm keeps a database per user (~/.rpmdb); EL has one system database that
# every user can query.
mkdir -p /etc/rpm /var/lib/rpm
echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros
rpm --initdb
rpm -i --nosignature /tmp/arrowhead-lab-base.rpm
rm -f /tmp/arrowhead-lab-base.rpm
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
`;

function hashOf(value: unknown): string {
  return crypto.createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 12);
}

/** Key of the plain debootstrap result (packages only). */
export function debootstrapKey(): string {
  return hashOf({ SUITE, BASE_PACKAGES });
}

/** Key of the customized base (packages, customization, base-provides RPM). */
export function baseKey(): string {
  return hashOf({ d: debootstrapKey(), CUSTOMIZE, provides: baseProvidesSpec() });
}

export function baseDir(): string {
  return path.join(cacheRoot(), `rootfs-${baseKey()}`);
}

/** Drops cached bases of older keys that no running lab uses as its overlay lower layer. */
function pruneOldBases(current: string): void {
  const mounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
  for (const entry of fs.readdirSync(cacheRoot())) {
    const full = path.join(cacheRoot(), entry);
    if (!/^rootfs-[0-9a-f]{12}(\.building)?$/.test(entry) || full === current) continue;
    if (mounts.includes(`lowerdir=${full}`)) continue;
    removeTree(full);
    fs.rmSync(path.join(cacheRoot(), `busybox-rootfs-${entry.slice(7, 19)}.tar`), { force: true });
  }
}

/** Plain debootstrap tree (the slow part), cached apart so customization changes are cheap. */
async function ensureDebootstrap(log: (msg: string) => void): Promise<string> {
  const dir = path.join(cacheRoot(), `debootstrap-${debootstrapKey()}`);
  if (fs.existsSync(path.join(dir, ".arrowhead-ready"))) return dir;
  const started = Date.now();
  const tmp = `${dir}.building`;
  removeTree(tmp);
  removeTree(dir);
  const debs = path.join(cacheRoot(), "debs");
  fs.mkdirSync(debs, { recursive: true });
  log(`lab: debootstrap ${SUITE} into ${path.basename(dir)} (a few minutes, once)`);
  await run("debootstrap", [
    "--variant=minbase",
    `--include=${BASE_PACKAGES.join(",")}`,
    `--cache-dir=${debs}`,
    SUITE,
    tmp,
    MIRROR,
  ]).catch((e: Error) => {
    throw new Error(
      `${e.message}\nlab: debootstrap failed; needs the Debian packages debootstrap and ` +
        `network access to ${MIRROR} (first build only)`,
    );
  });
  const left = mountsUnder(tmp);
  if (left.length > 0) throw new Error(`lab: debootstrap left mounts behind: ${left.join(", ")}`);
  fs.writeFileSync(path.join(tmp, ".arrowhead-ready"), `${new Date().toISOString()}\n`);
  fs.renameSync(tmp, dir);
  log(`lab: debootstrap done in ${Math.round((Date.now() - started) / 1000)} s`);
  return dir;
}

/**
 * Returns the base rootfs directory, building it first when the cache has none for the
 * current key. `log` receives progress lines.
 */
export async function ensureBaseRootfs(log: (msg: string) => void = () => undefined) {
  const dir = baseDir();
  const ready = path.join(dir, ".arrowhead-ready");
  if (fs.existsSync(ready)) return dir;
  fs.mkdirSync(cacheRoot(), { recursive: true });
  return withLock(path.join(cacheRoot(), "rootfs.lock"), async () => {
    if (fs.existsSync(ready)) return dir;
    const plain = await ensureDebootstrap(log);
    const started = Date.now();
    const tmp = `${dir}.building`;
    removeTree(tmp);
    removeTree(dir);
    await run("cp", ["-a", "--reflink=auto", plain, tmp]);
    fs.rmSync(path.join(tmp, ".arrowhead-ready"), { force: true });
    await buildStandin(baseProvidesSpec(), path.join(tmp, "tmp"));
    fs.renameSync(
      path.join(tmp, "tmp", "arrowhead-lab-base-1-1.lab.noarch.rpm"),
      path.join(tmp, "tmp", "arrowhead-lab-base.rpm"),
    );
    await run("chroot", [tmp, "/bin/sh", "-s"], { input: CUSTOMIZE });
    fs.writeFileSync(path.join(tmp, ".arrowhead-ready"), `${new Date().toISOString()}\n`);
    fs.renameSync(tmp, dir);
    log(`lab: base rootfs customized in ${Math.round((Date.now() - started) / 1000)} s`);
    pruneOldBases(dir);
    return dir;
  });
}
