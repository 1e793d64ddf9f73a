// The lab hosts themselves: three hosts up, reached over SSH with pinned host keys, and every
// capability the emulator and the installer rely on, then nothing left after down().
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUSYBOX_TAR_IN_HOST, type ExecResult, Lab, LabHost, startLab } from "./hosts";
import { requireRoot, sshConnect, sshExec, sshPut } from "./fixtures";
import { machineCgroupDirs } from "./hosts/cgroups";
import { buildStandin } from "./hosts/rpms";

requireRoot();

const connect = (lab: Lab, h: LabHost, user: string) => sshConnect(h, lab.privateKey, user, 30_000);

async function ssh(lab: Lab, h: LabHost, user: string, cmd: string): Promise<ExecResult> {
  const c = await connect(lab, h, user);
  try {
    return await sshExec(c, cmd);
  } finally {
    c.end();
  }
}

function processesUnder(cgroup: string): number {
  let n = fs
    .readFileSync(path.join(cgroup, "cgroup.procs"), "utf8")
    .split("\n")
    .filter(Boolean).length;
  for (const e of fs.readdirSync(cgroup, { withFileTypes: true })) {
    if (e.isDirectory()) n += processesUnder(path.join(cgroup, e.name));
  }
  return n;
}

describe("lab hosts", () => {
  let lab: Lab;
  const started: Record<string, number> = {};

  beforeAll(async () => {
    const t = Date.now();
    lab = await startLab({ name: "htest", hosts: 3, log: (m) => console.log(m) });
    started.up = Date.now() - t;
    console.log(`lab up in ${(started.up / 1000).toFixed(1)} s`);
  });

  afterAll(async () => {
    await lab?.down();
  });

  it("accepts the lab key as root and as centos (sudo without password), host keys pinned", async () => {
    for (const h of lab.hosts) {
      const root = await ssh(lab, h, "root", "id -u; hostname");
      expect(root.code).toBe(0);
      expect(root.stdout.split("\n").slice(0, 2)).toEqual(["0", h.name]);
      const centos = await ssh(lab, h, "centos", "id -un && sudo -n true && sudo -n id -u");
      expect(centos.code).toBe(0);
      expect(centos.stdout.trim().split("\n")).toEqual(["centos", "0"]);
    }
    // A wrong pinned key must be refused.
    const wrong = { ...lab.hosts[0], hostKey: lab.hosts[1].hostKey };
    await expect(connect(lab, wrong, "root")).rejects.toThrow();
  });

  it("gives every host its address and reaches the others on the private network", async () => {
    for (const h of lab.hosts) {
      // Each host in cgroups of its own, so one host's systemd never touches another's.
      const dirs = machineCgroupDirs(`ahlab-htest-${h.name}`);
      expect(dirs.length).toBeGreaterThan(0);
      for (const d of dirs) expect(processesUnder(d), d).toBeGreaterThan(0);
      const r = await lab.exec(h.name, "ip -4 -o addr show host0");
      expect(r.stdout).toContain(`inet ${h.privateAddress}/24`);
      for (const peer of lab.hosts.filter((p) => p !== h)) {
        const ping = await lab.exec(h.name, `ping -c1 -W2 ${peer.name}`);
        expect(ping.code, ping.stdout + ping.stderr).toBe(0);
        const tcp = await lab.exec(
          h.name,
          `timeout 5 bash -c 'exec 3<>/dev/tcp/${peer.privateAddress}/22; head -c4 <&3'`,
        );
        expect(tcp.stdout).toBe("SSH-");
      }
    }
  });

  it("looks like CentOS 7 and has the disabled vendor repository", async () => {
    const r = await lab.exec(
      "node1",
      ". /etc/os-release; echo $ID $VERSION_ID; cat /etc/redhat-release",
    );
    expect(r.stdout).toBe("centos 7\nCentOS Linux release 7.9.2009 (Core)\n");
    const repo = await lab.exec("node1", "cat /etc/yum.repos.d/CentOS-Base.repo");
    expect(repo.stdout).toContain("mirrorlist=http://mirrorlist.centos.org/?release=$releasever");
    expect(repo.stdout).toContain(
      "#baseurl=http://mirror.centos.org/centos/$releasever/os/$basearch/",
    );
    expect(repo.stdout).not.toMatch(/enabled=1/);
  });

  it("has a raw data disk of the configured size", async () => {
    for (const h of lab.hosts) {
      expect(h.dataDisks).toEqual(["/dev/vdb"]);
      const r = await lab.exec(h.name, "test -b /dev/vdb && blockdev --getsize64 /dev/vdb");
      expect(r.stdout.trim()).toBe(String(120 * 1024 ** 3));
    }
  });

  it("installs EL prerequisites by name and a local RPM file with yum", async () => {
    const h = lab.hosts[0];
    const r = await ssh(
      lab,
      h,
      "centos",
      "sudo -n yum install -y numactl libaio python docker-ce 2>&1; rpm -q numactl libaio python docker-ce; sudo -n rpm -q arrowhead-lab-base",
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/numactl-2\.0\.12-1\.lab\.noarch/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahlab-test-"));
    try {
      const file = await buildStandin(
        {
          name: "lab-local-test",
          version: "3.1",
          summary: "Arrowhead lab test package",
          provides: [],
        },
        dir,
      );
      const c = await connect(lab, h, "root");
      try {
        await sshPut(c, file, "/tmp/lab-local-test.rpm");
        const inst = await sshExec(
          c,
          "yum install -y /tmp/lab-local-test.rpm 2>&1 && rpm -q lab-local-test",
        );
        expect(inst.code, inst.stdout).toBe(0);
        expect(inst.stdout).toContain("lab-local-test-3.1-1.lab.noarch");
      } finally {
        c.end();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets root losetup, mknod a block device, mkfs and mount it", async () => {
    const r = await ssh(
      lab,
      lab.hosts[1],
      "root",
      [
        "set -e",
        "truncate -s 512M /root/vol.img",
        "dev=$(losetup --find --show /root/vol.img)",
        "test -b $dev",
        "mm=$(lsblk -ndo MAJ:MIN $dev | tr -d ' ')",
        "mknod /dev/scinia b ${mm%:*} ${mm#*:}",
        "mkfs.ext4 -q /dev/scinia",
        "mkdir -p /mnt/a && mount /dev/scinia /mnt/a && echo ext4-ok > /mnt/a/f && cat /mnt/a/f && umount /mnt/a",
        "mkfs.xfs -q -f /dev/scinia && mount /dev/scinia /mnt/a && echo xfs-ok > /mnt/a/f && cat /mnt/a/f && umount /mnt/a",
        "losetup -d $dev && rm /dev/scinia",
      ].join("\n"),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("ext4-ok\nxfs-ok\n");
  });

  it("runs Docker with /var/lib/docker on a loop-backed ext4 and an offline image", async () => {
    const r = await ssh(
      lab,
      lab.hosts[2],
      "root",
      [
        "set -e",
        "truncate -s 2G /root/docker.img",
        "dev=$(losetup --find --show /root/docker.img)",
        "mkfs.ext4 -q $dev",
        "mkdir -p /var/lib/docker && mount $dev /var/lib/docker",
        "systemctl enable --now docker >/dev/null 2>&1",
        `docker import ${BUSYBOX_TAR_IN_HOST} lab/busybox >/dev/null`,
        "mkdir -p /srv/data",
        "docker run --rm -v /srv/data:/data lab/busybox sh -c 'echo hi > /data/x'",
        "cat /srv/data/x",
        "findmnt -no SOURCE /var/lib/docker",
        "docker info --format '{{.Driver}}'",
      ].join("\n"),
    );
    expect(r.code, r.stderr).toBe(0);
    const [hi, source] = r.stdout.trim().split("\n");
    expect(hi).toBe("hi");
    expect(source).toMatch(/^\/dev\/loop\d+$/);
  });

  it("keeps disk and file system contents across a host stop/start", async () => {
    const h = lab.hosts[0];
    const w = await lab.exec(
      h.name,
      "echo disk-marker | dd of=/dev/vdb bs=512 count=1 conv=notrunc,fsync 2>/dev/null && echo kept > /root/kept && sync",
    );
    expect(w.code, w.stderr).toBe(0);
    await lab.stop(h.name);
    await expect(lab.exec(h.name, "true")).rejects.toThrow(/not running/);
    await lab.start(h.name);
    const r = await ssh(
      lab,
      h,
      "root",
      "head -c 11 /dev/vdb; echo; cat /root/kept; rpm -q numactl",
    );
    expect(r.stdout).toBe("disk-marker\nkept\nnumactl-2.0.12-1.lab.noarch\n");
  });

  it("forwards any host port to loopback", async () => {
    const start = await lab.exec(
      "node1",
      "echo forwarded > /root/index.html && systemd-run --unit=labweb " +
        "python3 -m http.server 8000 --bind 0.0.0.0 --directory /root >/dev/null 2>&1",
    );
    expect(start.code, start.stderr).toBe(0);
    const ep = await lab.forward("node1", 8000);
    expect(ep.host).toBe("127.0.0.1");
    let body = "";
    for (let i = 0; i < 50 && body !== "forwarded\n"; i++) {
      // Bounded: a request raced against the server's start must not hang the test.
      body = await fetch(`http://127.0.0.1:${ep.port}/index.html`, {
        signal: AbortSignal.timeout(5_000),
      })
        .then((r) => r.text())
        .catch(() => "");
      if (body !== "forwarded\n") await new Promise((r) => setTimeout(r, 200));
    }
    expect(body).toBe("forwarded\n");
  });

  it("publishes more RPMs and adds a host that the others know by name", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ahlab-test-"));
    try {
      await buildStandin(
        { name: "lab-published", version: "1.0", summary: "Arrowhead lab test package" },
        dir,
      );
      await lab.publishRpms(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const added = await lab.addHost();
    expect(added.name).toBe("node4");
    expect(lab.hosts.map((h) => h.name)).toContain("node4");
    const r = await ssh(
      lab,
      added,
      "root",
      "yum install -y lab-published >/dev/null 2>&1; rpm -q lab-published",
    );
    expect(r.stdout).toBe("lab-published-1.0-1.lab.noarch\n");
    const ping = await lab.exec("node1", "ping -c1 -W2 node4");
    expect(ping.code, ping.stdout).toBe(0);
  });

  it("leaves no namespace, loop device, mount or process behind after down()", async () => {
    const stateDir = lab.stateDir;
    // A loop device inside a host, backed by a file on its root (the Docker test left one
    // too): down() must detach those, found by the file system they live on.
    const probe = await lab.exec(
      "node2",
      "truncate -s 64M /root/left.img && losetup --find --show /root/left.img",
    );
    expect(probe.stdout).toMatch(/^\/dev\/loop\d+\n$/);
    const rootDevs = lab.hosts.map((h) => {
      const dev = fs.statSync(path.join(stateDir, "hosts", h.name, "root")).dev;
      return `${Math.floor(dev / 0x100) & 0xfff}:${(dev & 0xff) | (Math.floor(dev / 0x1000) & 0xfff00)}`;
    });
    await lab.down();
    const { execFileSync } = await import("node:child_process");
    expect(execFileSync("ip", ["netns", "list"]).toString()).not.toMatch(/ahlab-htest\b/);
    const loops = execFileSync("losetup", ["--list", "-n", "-O", "NAME,BACK-FILE,BACK-MAJ:MIN"])
      .toString()
      .split("\n");
    expect(loops.filter((l) => l.includes(stateDir))).toEqual([]);
    expect(loops.filter((l) => rootDevs.includes(l.trim().split(/\s+/).pop() ?? ""))).toEqual([]);
    expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(stateDir);
    const procs = execFileSync("ps", ["-eo", "args"]).toString();
    expect(procs).not.toContain("ahlab-htest");
    expect(fs.existsSync(stateDir)).toBe(false);
    const cgroups = lab.hosts.flatMap((h) => machineCgroupDirs(`ahlab-htest-${h.name}`));
    expect(cgroups.length).toBeGreaterThan(0);
    expect(cgroups.filter((d) => fs.existsSync(d))).toEqual([]);
    expect(fs.existsSync("/run/systemd/nspawn/propagate/ahlab-htest-node1")).toBe(false);
  });
});
