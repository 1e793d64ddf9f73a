import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import {
  deviceProbeScript,
  judgeDevices,
  MIN_SDS_DEVICE_GB,
  parseDeviceProbe,
  wipeCommand,
} from "../../src/install/stages/devices";
import {
  multipathDropIn,
  multipathDropInScript,
  MULTIPATH_PROBE,
  parseMultipathProbe,
} from "../../src/install/stages/multipath";
import { createHash } from "crypto";

const GIB = 1024 ** 3;
const probe = (lines: string[]) => parseDeviceProbe(lines.join("\n"));

describe("SDS device probe", () => {
  it("parses every kind of finding per device, in order", () => {
    const f = probe([
      "dev=/dev/vdb",
      "real=/dev/vdb",
      `size=${120 * GIB}`,
      "mount=/dev/vdb on /mnt/data",
      "TYPE=ext4",
      "LABEL=data",
      "UUID=1234",
      "dev=/dev/sdc",
      "real=/dev/sdc",
      `size=${200 * GIB}`,
      "part=/dev/sdc1",
      "part=/dev/sdc2",
      "PTTYPE=gpt",
      "holder=dm-0",
      "swap=/dev/sdc2",
      "dev=/dev/sdz",
      "missing=1",
    ]);
    expect(f.map((d) => d.device)).toEqual(["/dev/vdb", "/dev/sdc", "/dev/sdz"]);
    expect(f[0]).toMatchObject({
      sizeBytes: 120 * GIB,
      mounts: ["/dev/vdb on /mnt/data"],
      fsType: "ext4",
      label: 'label "data"',
    });
    expect(f[1]).toMatchObject({
      partitions: ["/dev/sdc1", "/dev/sdc2"],
      ptType: "gpt",
      holders: ["dm-0"],
      swaps: ["/dev/sdc2"],
    });
    expect(f[2]).toMatchObject({ exists: false, block: false });
  });

  it("runs on this machine's shell and reads a file system on a loop-less file as 'not a block device'", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-dev-"));
    try {
      const file = path.join(dir, "disk.img");
      fs.writeFileSync(file, "");
      const out = execFileSync("sh", ["-c", deviceProbeScript([file, path.join(dir, "nope")])], {
        encoding: "utf8",
      });
      const f = parseDeviceProbe(out);
      expect(f[0]).toMatchObject({ device: file, exists: true, block: false });
      expect(f[1]).toMatchObject({ exists: false });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("judgeDevices", () => {
  const clean = (device: string, gb = 120) =>
    probe([`dev=${device}`, `real=${device}`, `size=${gb * GIB}`])[0];

  it("accepts an empty device of at least the minimum size", () => {
    expect(judgeDevices("node1", [clean("/dev/vdb", MIN_SDS_DEVICE_GB)])).toEqual({
      refused: [],
      wipe: [],
    });
  });

  it("case 7: refuses an ext4 device with its host, device and the file system, unless wipeDevices names it", () => {
    const ext4 = probe([
      "dev=/dev/vdb",
      "real=/dev/vdb",
      `size=${120 * GIB}`,
      "TYPE=ext4",
      "UUID=abcd",
    ])[0];
    const v = judgeDevices("node2", [ext4]);
    expect(v.wipe).toEqual([]);
    expect(v.refused).toHaveLength(1);
    expect(v.refused[0]).toMatch(
      /^SDS device \/dev\/vdb on node2 holds a ext4 signature \(UUID abcd\); ScaleIO would overwrite it.*arrowhead:wipeDevices: \{node2: \[\/dev\/vdb\]\}/,
    );
    // Another host's or another device's opt-in does not count.
    expect(judgeDevices("node2", [ext4], ["/dev/vdc"]).refused).toHaveLength(1);
    expect(judgeDevices("node2", [ext4], ["/dev/vdb"])).toEqual({ refused: [], wipe: [ext4] });
  });

  it("refuses a partitioned device, naming the table and partitions", () => {
    const f = probe([
      "dev=/dev/disk/by-id/x",
      "real=/dev/sdb",
      `size=${500 * GIB}`,
      "part=/dev/sdb1",
      "PTTYPE=dos",
    ])[0];
    expect(judgeDevices("n", [f]).refused[0]).toMatch(
      /\/dev\/disk\/by-id\/x on n holds a dos partition table \(partitions \/dev\/sdb1\)/,
    );
    // The opt-in may name the resolved path too.
    expect(judgeDevices("n", [f], ["/dev/sdb"]).wipe).toEqual([f]);
  });

  it("refuses a mounted, swapping or held device even with wipeDevices", () => {
    const mounted = probe([
      "dev=/dev/vdb",
      "real=/dev/vdb",
      `size=${120 * GIB}`,
      "mount=/dev/vdb1 on /srv",
      "PTTYPE=gpt",
    ])[0];
    const v = judgeDevices("node3", [mounted], ["/dev/vdb"]);
    expect(v.wipe).toEqual([]);
    expect(v.refused[0]).toMatch(
      /\/dev\/vdb on node3 is mounted \(\/dev\/vdb1 on \/srv\).*Unmount/,
    );
    const held = probe(["dev=/dev/vdb", "real=/dev/vdb", `size=${120 * GIB}`, "holder=dm-3"])[0];
    expect(judgeDevices("n", [held], ["/dev/vdb"]).refused[0]).toMatch(/in use by dm-3/);
    const swap = probe(["dev=/dev/vdb", "real=/dev/vdb", `size=${120 * GIB}`, "swap=/dev/vdb"])[0];
    expect(judgeDevices("n", [swap]).refused[0]).toMatch(/active swap/);
  });

  it("refuses a device smaller than 100 GB before --add_sds, with its size", () => {
    const v = judgeDevices("node1", [clean("/dev/vdb", 50)]);
    expect(v.refused[0]).toMatch(/\/dev\/vdb on node1 is 50\.0 GB; ScaleIO needs at least 100 GB/);
    expect(judgeDevices("node1", [clean("/dev/vdb", 99)], ["/dev/vdb"]).refused).toHaveLength(1);
  });

  it("refuses missing and non-block paths before anything changes, naming node and fix", () => {
    const v = judgeDevices(
      "h",
      probe(["dev=/dev/nope", "missing=1", "dev=/tmp/x", "real=/tmp/x", "notblock=1"]),
    );
    expect(v).toEqual({
      refused: [
        "SDS device /dev/nope on h does not exist: fix dataDisks for node h (its disks: lsblk -dn -o NAME,SIZE,TYPE on the host)",
        "SDS device /tmp/x on h is not a block device: fix dataDisks for node h (its disks: lsblk -dn -o NAME,SIZE,TYPE on the host)",
      ],
      wipe: [],
    });
  });

  it("wipes the partitions, then the device", () => {
    const f = probe(["dev=/dev/sdb", "real=/dev/sdb", "part=/dev/sdb1", "PTTYPE=gpt"])[0];
    expect(wipeCommand(f)).toBe("wipefs -a /dev/sdb1 && wipefs -a /dev/sdb");
  });
});

describe("multipath blacklist", () => {
  const sha = createHash("sha256").update(multipathDropIn()).digest("hex");
  it("blacklists the scini device nodes in multipath.conf syntax", () => {
    expect(multipathDropIn()).toMatch(/^blacklist \{\n {4}devnode "\^scini\[a-z\]\*"\n\}$/m);
  });
  it("writes nothing where multipath is not installed, or the drop-in is current", () => {
    expect(multipathDropInScript(parseMultipathProbe(""))).toBeUndefined();
    expect(
      multipathDropInScript(parseMultipathProbe(`installed=1\nactive=active\nsha=${sha}`)),
    ).toBeUndefined();
  });
  it("writes the drop-in to multipath's config_dir and reconfigures a running multipathd", () => {
    const s = multipathDropInScript(
      parseMultipathProbe("installed=1\nactive=active\ndir=/etc/multipath/conf.d\nsha="),
    )!;
    expect(s).toContain("/etc/multipath/conf.d/arrowhead-scaleio.conf");
    expect(s).toMatch(/&& multipathd reconfigure$/);
    const idle = multipathDropInScript(
      parseMultipathProbe("installed=1\nactive=inactive\ndir=/etc/mp.d\nsha=old"),
    )!;
    expect(idle).toContain("/etc/mp.d/arrowhead-scaleio.conf");
    expect(idle).not.toContain("reconfigure");
  });
  it("the probe reads config_dir from multipath.conf (checked with this machine's sed)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-mp-"));
    try {
      const conf = path.join(dir, "multipath.conf");
      fs.writeFileSync(
        conf,
        'defaults {\n  user_friendly_names yes\n  config_dir "/etc/mp.d"\n}\n',
      );
      const script = MULTIPATH_PROBE.replace(/\/etc\/multipath\.conf/g, conf).replace(
        "if command -v multipathd >/dev/null 2>&1 ||",
        "if true ||",
      );
      const out = execFileSync("sh", ["-c", script], { encoding: "utf8" });
      expect(parseMultipathProbe(out)).toMatchObject({
        installed: true,
        dir: "/etc/mp.d",
        sha: "",
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
