// Builds a small bootable cloud image from Debian's archive, standing in for a CentOS 7
// GenericCloud image (which cannot be downloaded here). The result boots with QEMU's direct kernel
// boot (`-kernel/-initrd`), runs cloud-init from a NoCloud seed like the real images do, and has
// the tools the installer and the ScaleIO emulator expect (rpm, dnf, xfsprogs, docker...).
// It is dressed as CentOS 7 the way the lab hosts are (test/lab/hosts: os-release and repo files,
// `yum`, one system RPM database, the EL stand-in RPMs), with the repository baked in as a
// file:// repo so the installer's `yum install` needs no network, and an offline busybox rootfs
// tarball for `docker import`.
//
// Needs root and the Debian packages debootstrap, e2fsprogs, qemu-utils, rpm, createrepo-c.
// Cached by content hash of everything that shapes the image, so a second run costs nothing.
//
//   npx tsx test/e2e/image/build.ts            # prints the JSON of BuiltImage
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BUSYBOX_TAR_IN_HOST, ensureBusyboxTar } from "../../lab/hosts/busybox";
import { distroFiles } from "../../lab/hosts/distro";
import {
  baseProvidesSpec,
  buildPrerequisiteStandins,
  buildStandin,
  EL_PREREQUISITES,
} from "../../lab/hosts/rpms";

export interface BuiltImage {
  /** qcow2 base image: one ext4 filesystem, no partition table (root=/dev/vda). */
  image: string;
  kernel: string;
  initrd: string;
  /** Kernel command line the image needs. */
  kernelCmdline: string;
  /** True when the image came from the cache. */
  cached: boolean;
  /** Wall time of the build (0 when cached). */
  buildSeconds: number;
}

export const SUITE = "bookworm";
export const MIRROR = "http://deb.debian.org/debian";

/** debootstrap's part: just enough of a system for apt to install the rest in the new root. */
export const BASE_PACKAGES = [
  "systemd-sysv",
  "udev",
  "dbus",
  "kmod",
  "iproute2",
  "procps",
  "netbase",
];

/**
 * Installed by apt inside the new root (apt resolves alternatives and virtual packages, which
 * debootstrap's resolver does not): the kernel, cloud-init, sshd, and the tools the installer
 * and the ScaleIO emulator call.
 */
export const PACKAGES = [
  "linux-image-amd64",
  "cloud-init",
  "openssh-server",
  "sudo",
  "python3",
  "rpm",
  "dnf",
  "xfsprogs",
  "e2fsprogs",
  "docker.io",
  "util-linux",
  "busybox-static",
  // The ScaleIO emulator's packages check for it.
  "openssl",
];

/** The EL release the image claims to be (the emulator's el7 packages match it). */
export const IMAGE_OS = "centos7";
/** The baked-in yum repository (EL stand-ins), and its repo file. */
export const REPO_DIR_IN_IMAGE = "/var/lib/arrowhead-e2e/repo";
export const REPO_FILE = "etc/yum.repos.d/arrowhead-e2e.repo";
/** Where the busybox rootfs tarball lives in the image (same place as on lab hosts). */
export const BUSYBOX_TAR = BUSYBOX_TAR_IN_HOST;

/** Root on the first partition, as on the GenericCloud images (the provider's default). */
export const KERNEL_CMDLINE = "root=/dev/vda1 ro console=ttyS0,115200 net.ifnames=0";

/** Size of the disk; the qcow2 stays sparse, overlays only store what guests write. */
const DISK_BYTES = 6 * 1024 ** 3;
/** The partition starts at 1 MiB, as partitioning tools align it. */
const PART_START = 1024 * 1024;

/** A DOS partition table with one bootable Linux partition from 1 MiB to the end of the disk. */
export function mbr(diskBytes: number): Buffer {
  const sector = Buffer.alloc(512);
  sector.writeUInt32LE(0x41524857, 440); // disk signature: any non-zero value
  const e = 446;
  sector[e] = 0x80;
  // CHS fields say "use LBA" (0xfe 0xff 0xff); the kernel reads the LBA fields.
  Buffer.from([0xfe, 0xff, 0xff]).copy(sector, e + 1);
  sector[e + 4] = 0x83;
  Buffer.from([0xfe, 0xff, 0xff]).copy(sector, e + 5);
  sector.writeUInt32LE(PART_START / 512, e + 8);
  sector.writeUInt32LE((diskBytes - PART_START) / 512, e + 12);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/**
 * Commands run inside the new root after debootstrap. Each one keeps boot fast under software
 * emulation or makes the image behave like a cloud image.
 */
const CHROOT_SETUP = `
set -e
# Initramfs rebuilds take minutes under emulation; the one built here is all the guest needs.
sed -i 's/^update_initramfs=.*/update_initramfs=no/' /etc/initramfs-tools/update-initramfs.conf
# Host keys come from cloud-init (the provider generates them), never from the image.
rm -f /etc/ssh/ssh_host_*
printf '/dev/vda1 / ext4 defaults 0 1\\n' > /etc/fstab
printf 'datasource_list: [ NoCloud, None ]\\n' > /etc/cloud/cloud.cfg.d/90-arrowhead-datasource.cfg
# cloud-init renders network-config for systemd-networkd (no ifupdown in this image).
systemctl enable systemd-networkd.service
# Like a fresh CentOS: Docker is installed by the installer's choice, not running at boot.
systemctl disable docker.service docker.socket containerd.service 2>/dev/null || true
# Timers that only cost CPU in a short-lived guest.
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \\
  man-db.timer dpkg-db-backup.timer 2>/dev/null || true
# Docker's root must start empty: the installer mounts a ScaleIO volume there.
rm -rf /var/lib/docker
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/*
: > /etc/machine-id
`;

/**
 * EL dressing, run inside the new root after the distro files, the stand-in repository and the
 * base-provides RPM (/tmp/arrowhead-base.rpm) are in place.
 */
const EL_SETUP = `
set -e
# EL has yum; Debian's dnf ships no yum command.
printf '#!/bin/sh\\n# Arrowhead e2e image: EL hosts have yum; here it is dnf.\\nexec /usr/bin/dnf "$@"\\n' > /usr/bin/yum
chmod 0755 /usr/bin/yum
# Debian's rpm keeps a database per user (~/.rpmdb); EL has one system database.
mkdir -p /etc/rpm /var/lib/rpm
echo '%_dbpath /var/lib/rpm' > /etc/rpm/macros
rpm --initdb
rpm -i --nosignature /tmp/arrowhead-base.rpm
rm -f /tmp/arrowhead-base.rpm
# The ScaleIO emulator's SDC makes /dev/scini* and the /dev/disk/by-id/emc-vol-* links itself
# (real ScaleIO ships udev rules for them). Tell udev about the links so systemd has .device units
# for them as on real hosts: the installer's mount unit requires the volume's device unit.
mkdir -p /usr/local/lib/arrowhead-e2e
cat > /usr/local/lib/arrowhead-e2e/emc-vol-links <<'SCRIPT'
#!/bin/sh
# Prints the emulator's by-id names of block device $1 (same major:minor), for udev's SYMLINK.
want=$(stat -L -c %t:%T "/dev/$1" 2>/dev/null) || exit 1
out=""
for l in /dev/disk/by-id/emc-vol-*; do
  [ -e "$l" ] || continue
  [ "$(stat -L -c %t:%T "$l")" = "$want" ] && out="$out disk/by-id/\${l##*/}"
done
[ -n "$out" ] || exit 1
echo $out
SCRIPT
chmod 0755 /usr/local/lib/arrowhead-e2e/emc-vol-links
cat > /etc/udev/rules.d/99-arrowhead-e2e-emc-vol.rules <<'RULES'
ACTION!="remove", SUBSYSTEM=="block", KERNEL=="loop*", PROGRAM="/usr/local/lib/arrowhead-e2e/emc-vol-links %k", SYMLINK+="%c"
RULES
# The links appear after the loop device's own udev event: replay it once they exist.
cat > /etc/systemd/system/arrowhead-e2e-emc-vol.path <<'UNIT'
[Unit]
Description=Arrowhead e2e image: ScaleIO emulator volume links appeared

[Path]
PathExistsGlob=/dev/disk/by-id/emc-vol-*

[Install]
WantedBy=paths.target
UNIT
cat > /etc/systemd/system/arrowhead-e2e-emc-vol.service <<'UNIT'
[Unit]
Description=Arrowhead e2e image: let udev see the ScaleIO emulator volume links

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/udevadm trigger --settle --action=change --subsystem-match=block --sysname-match=loop*
UNIT
systemctl enable arrowhead-e2e-emc-vol.path
`;

function repoFileText(): string {
  return [
    "[arrowhead-e2e]",
    "name=Arrowhead e2e image: EL stand-in packages (baked in, no network)",
    `baseurl=file://${REPO_DIR_IN_IMAGE}/`,
    "enabled=1",
    "gpgcheck=0",
    "",
  ].join("\n");
}

/**
 * CentOS 7 dressing from the lab's modules: release and repo files, the stand-in repository
 * (indexed here with createrepo_c), the base-provides RPM, yum, and the busybox tarball.
 */
async function dressAsEl(rootfs: string, logFile: string): Promise<void> {
  for (const f of distroFiles(IMAGE_OS)) {
    const file = path.join(rootfs, f.path);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.rmSync(file, { force: true });
    if (f.link) fs.symlinkSync(f.link, file);
    else fs.writeFileSync(file, f.content);
  }
  const repo = path.join(rootfs, REPO_DIR_IN_IMAGE);
  await buildPrerequisiteStandins(repo);
  run(logFile, "createrepo_c", ["--quiet", repo]);
  fs.writeFileSync(path.join(rootfs, REPO_FILE), repoFileText());
  const base = await buildStandin(baseProvidesSpec(), path.join(rootfs, "tmp"));
  fs.renameSync(base, path.join(rootfs, "tmp", "arrowhead-base.rpm"));
  run(logFile, "chroot", [rootfs, "/bin/sh", "-s"], EL_SETUP);
  const tar = await ensureBusyboxTar(rootfs, imageKey());
  fs.mkdirSync(path.dirname(path.join(rootfs, BUSYBOX_TAR)), { recursive: true });
  fs.copyFileSync(tar, path.join(rootfs, BUSYBOX_TAR));
}

/** Cache key: everything that changes the image's content. */
export function imageKey(): string {
  const h = createHash("sha256");
  h.update(
    JSON.stringify({
      SUITE,
      MIRROR,
      BASE_PACKAGES,
      PACKAGES,
      KERNEL_CMDLINE,
      DISK_BYTES,
      CHROOT_SETUP,
      EL_SETUP,
      IMAGE_OS,
      distro: distroFiles(IMAGE_OS),
      standins: EL_PREREQUISITES,
      provides: baseProvidesSpec(),
      repo: repoFileText(),
      BUSYBOX_TAR,
    }),
  );
  return h.digest("hex").slice(0, 16);
}

export function defaultCacheDir(): string {
  return process.env.ARROWHEAD_IMAGE_CACHE ?? path.join(os.homedir(), ".cache", "arrowhead");
}

/** Runs a build step, its output appended to `logFile`; a failure quotes the log's tail. */
function run(logFile: string, cmd: string, args: string[], input?: string): void {
  const out = fs.openSync(logFile, "a");
  fs.writeSync(out, `\n$ ${cmd} ${args.join(" ")}\n`);
  try {
    execFileSync(cmd, args, { input, stdio: [input === undefined ? "ignore" : "pipe", out, out] });
  } catch (e) {
    const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-25).join("\n");
    throw new Error(
      `test image build: '${cmd} ${args.slice(0, 3).join(" ")}...' failed (${(e as Error).message.split("\n")[0]}):\n${tail}`,
    );
  } finally {
    fs.closeSync(out);
  }
}

function requireTools(): void {
  for (const [tool, pkg] of [
    ["debootstrap", "debootstrap"],
    ["mkfs.ext4", "e2fsprogs"],
    ["qemu-img", "qemu-utils"],
    ["rpmbuild", "rpm"],
    ["createrepo_c", "createrepo-c"],
  ]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`], {
        stdio: "ignore",
      });
    } catch {
      throw new Error(`test image build needs '${tool}': apt-get install ${pkg}`);
    }
  }
  if (process.getuid?.() !== 0) {
    throw new Error("test image build needs root (debootstrap): run the e2e tests as root");
  }
}

/**
 * debootstrap mounts /proc (and in containers binds /dev) inside the new root; a build that died
 * leaves them mounted. Removing the tree with them mounted would reach into the host's /dev, so
 * unmount everything below `dir` first (deepest first) and refuse to remove if anything stays.
 */
function removeTree(dir: string): void {
  const abs = path.resolve(dir);
  const below = () =>
    fs
      .readFileSync("/proc/self/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1])
      .filter((m): m is string => !!m && (m === abs || m.startsWith(abs + "/")))
      .sort((a, b) => b.length - a.length);
  for (const m of below()) {
    try {
      execFileSync("umount", ["-l", m], { stdio: "ignore" });
    } catch {
      // Checked below.
    }
  }
  const left = below();
  if (left.length > 0) {
    throw new Error(`test image build: cannot unmount ${left.join(", ")}; unmount by hand`);
  }
  fs.rmSync(abs, { recursive: true, force: true });
}

/** Returns the cached image for the current key, building it first when absent. */
export async function buildTestImage(cacheDir = defaultCacheDir()): Promise<BuiltImage> {
  const dir = path.join(cacheDir, `image-${imageKey()}`);
  const result = (cached: boolean, buildSeconds: number): BuiltImage => ({
    image: path.join(dir, "root.qcow2"),
    kernel: path.join(dir, "vmlinuz"),
    initrd: path.join(dir, "initrd.img"),
    kernelCmdline: KERNEL_CMDLINE,
    cached,
    buildSeconds,
  });
  if (fs.existsSync(path.join(dir, "done"))) return result(true, 0);

  requireTools();
  const started = Date.now();
  const work = path.join(cacheDir, `build-${imageKey()}`);
  const rootfs = path.join(work, "rootfs");
  // A build that died earlier leaves a half-made root: start over rather than trust it.
  removeTree(work);
  fs.mkdirSync(rootfs, { recursive: true });
  const debs = path.join(cacheDir, "debs");
  fs.mkdirSync(debs, { recursive: true });
  const logFile = path.join(cacheDir, `build-${imageKey()}.log`);
  fs.writeFileSync(logFile, `test image build ${new Date().toISOString()}\n`);
  try {
    run(logFile, "debootstrap", [
      "--variant=minbase",
      `--include=${BASE_PACKAGES.join(",")}`,
      `--cache-dir=${debs}`,
      SUITE,
      rootfs,
      MIRROR,
    ]);
    // Package scripts (the kernel's, initramfs-tools') need /proc; removeTree unmounts it.
    run(logFile, "mount", ["-t", "proc", "proc", path.join(rootfs, "proc")]);
    // No daemon starts inside the build root.
    fs.writeFileSync(path.join(rootfs, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n", {
      mode: 0o755,
    });
    run(
      logFile,
      "chroot",
      [rootfs, "/bin/sh", "-s"],
      "set -e\nexport DEBIAN_FRONTEND=noninteractive\napt-get update\n" +
        `apt-get install -y --no-install-recommends ${PACKAGES.join(" ")}\n` +
        "rm -f /usr/sbin/policy-rc.d\n",
    );
    run(logFile, "chroot", [rootfs, "/bin/sh", "-s"], CHROOT_SETUP);
    await dressAsEl(rootfs, logFile);
    run(logFile, "umount", [path.join(rootfs, "proc")]);
    const boot = fs.readdirSync(path.join(rootfs, "boot"));
    const vmlinuz = boot.find((f) => f.startsWith("vmlinuz-"));
    const initrd = boot.find((f) => f.startsWith("initrd.img-"));
    if (!vmlinuz || !initrd) {
      throw new Error(`test image build: no kernel/initrd in ${rootfs}/boot (found: ${boot})`);
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(rootfs, "boot", vmlinuz), path.join(dir, "vmlinuz"));
    fs.copyFileSync(path.join(rootfs, "boot", initrd), path.join(dir, "initrd.img"));
    const raw = path.join(work, "root.raw");
    const fd = fs.openSync(raw, "w");
    fs.writeSync(fd, mbr(DISK_BYTES), 0, 512, 0);
    fs.closeSync(fd);
    fs.truncateSync(raw, DISK_BYTES);
    // mkfs -d fills the filesystem from a directory, -E offset writes it into the partition: no
    // loop device, no mount, no device-mapper.
    const blocks = String((DISK_BYTES - PART_START) / 4096);
    run(logFile, "mkfs.ext4", [
      "-q",
      "-F",
      "-b",
      "4096",
      "-L",
      "root",
      "-E",
      `offset=${PART_START}`,
      "-d",
      rootfs,
      raw,
      blocks,
    ]);
    run(logFile, "qemu-img", [
      "convert",
      "-f",
      "raw",
      "-O",
      "qcow2",
      raw,
      path.join(dir, "root.qcow2"),
    ]);
    fs.writeFileSync(path.join(dir, "done"), new Date().toISOString() + "\n");
  } finally {
    removeTree(work);
  }
  return result(false, Math.round((Date.now() - started) / 1000));
}

if (require.main === module) {
  buildTestImage(process.argv[2]).then(
    (built) => process.stdout.write(JSON.stringify(built, null, 2) + "\n"),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
