// The emulator's scli command surface, checked without hosts: every command line the installer's
// builders (src/install/scli.ts) can produce must be one the emulator's parser accepts, the forms
// public automation uses are accepted, and anything else is a usage error (exit 2). Also the
// version-keyed output layouts (test/emulator/README.md, "Layouts").
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { Scli, type ScliCommand } from "../../src/install/scli";

const LIB = path.join(__dirname, "..", "emulator", "python");
const IPS = ["10.0.0.1", "10.0.0.2"];
const A = { ip: "10.0.0.1", name: "node1" };
const B = { ip: "10.0.0.2", name: "node2" };
const C = { ip: "10.0.0.3", name: "node3" };

function python(code: string, input = "", env: Record<string, string> = {}): string {
  return execFileSync("python3", ["-c", code], {
    env: { ...process.env, PYTHONPATH: LIB, ...env },
    input,
  }).toString();
}

interface Parsed {
  ok: boolean;
  cmd?: string;
  args?: Record<string, string | boolean>;
  code?: number;
  error?: string;
}

const PARSE = `
import json, sys
from scaleio_emu import scli
out = []
for record in sys.stdin.buffer.read().split(b"\\x1e")[:-1]:
    argv = [a.decode() for a in record.split(b"\\x1f")[:-1]]
    try:
        cmd, args = scli.parse_command(argv)
        out.append({"ok": True, "cmd": cmd, "args": args})
    except scli.Failure as f:
        out.append({"ok": False, "code": f.code, "error": str(f)})
print(json.dumps(out))
`;

/** Parse argv lists with the emulator's parser (one python process for all). */
function parseAll(argvs: string[][]): Parsed[] {
  const input = argvs.map((a) => a.map((w) => `${w}\x1f`).join("") + "\x1e").join("");
  return JSON.parse(python(PARSE, input)) as Parsed[];
}

const STDIN_FEED = /^printf '%s\\n' (?:"\$[A-Z_]+" ?)+\| /;

/**
 * Split builder command lines into argv the way the remote shell does, with the secret
 * variables set, then parse them all.
 */
function parseLines(lines: string[]): Parsed[] {
  const script = [
    `emit() { for a in "$@"; do printf '%s\\037' "$a"; done; printf '\\036'; }`,
    ...lines.map((l) => {
      // Answers scli reads on stdin come first (`printf '%s\n' "$X" | scli ...`).
      const bare = l.replace(STDIN_FEED, "");
      if (!bare.startsWith("scli ")) throw new Error(`not an scli command line: ${l}`);
      return `emit ${bare.slice("scli ".length)}`;
    }),
  ].join("\n");
  const words = execFileSync("/bin/sh", ["-c", script], {
    env: { ...process.env, MDM_PASSWORD: "Secret-1 x", MDM_DEFAULT_PASSWORD: "admin" },
  }).toString();
  const argvs = words
    .split("\x1e")
    .filter((r) => r !== "")
    .map((r) => r.split("\x1f").slice(0, -1));
  return parseAll(argvs);
}

// Every public builder of Scli with the argument sets the installer uses. A new builder must be
// added here, so that the emulator is checked against everything the installer can send.
const CALLS: Record<string, (s: Scli) => ScliCommand[]> = {
  createCluster: (s) => [s.createCluster(A)],
  login: (s) => [s.login("admin", "MDM_PASSWORD"), s.login("admin", "MDM_DEFAULT_PASSWORD")],
  setPassword: (s) => [s.setPassword("MDM_DEFAULT_PASSWORD", "MDM_PASSWORD")],
  addStandby: (s) => [s.addStandby(B, "manager"), s.addStandby(C, "tb")],
  switchClusterMode: (s) => [
    s.switchClusterMode("3_node", ["node2"], ["node3"]),
    s.switchClusterMode("3_node", ["node2"], []),
    s.switchClusterMode("3_node", [], ["node3"]),
    s.switchClusterMode("5_node", ["b", "c"], ["d", "e"]),
  ],
  renameSystem: (s) => [s.renameSystem("arrowhead-lab")],
  addProtectionDomain: (s) => [s.addProtectionDomain("pd1")],
  addStoragePool: (s) => [
    s.addStoragePool("pd1", "sp1", "HDD"),
    s.addStoragePool("pd1", "sp1", "SSD"),
    s.addStoragePool("pd1", "sp1", "Transitional"),
  ],
  addSds: (s) => [
    s.addSds("10.0.0.1", ["/dev/vdb"], "node1", "pd1", "sp1"),
    s.addSds("10.0.0.1", ["/dev/vdb", "/dev/vdc"], "node1", "pd1", "sp1"),
    s.addSds("10.0.0.1", ["/dev/vdb", "/dev/vdc"], "node1", "pd1", ["fast", "capacity"]),
  ],
  addSdsDevice: (s) => [s.addSdsDevice("node1", "/dev/vdd", "capacity")],
  removeSdsDevice: (s) => [s.removeSdsDevice("node1", "/dev/vdd")],
  removeStoragePool: (s) => [s.removeStoragePool("pd1", "fast")],
  querySds: (s) => [s.querySds("10.0.0.1")],
  queryStoragePool: (s) => [s.queryStoragePool("pd1", "fast")],
  addVolume: (s) => [s.addVolume("pd1", "sp1", 8, "vol1"), s.addVolume("pd1", "sp1", 16, "v2")],
  mapVolume: (s) => [s.mapVolume("vol1", "10.0.0.1")],
  unmapVolume: (s) => [s.unmapVolume("vol1", "10.0.0.1")],
  removeVolume: (s) => [s.removeVolume("vol1")],
  queryCluster: (s) => [s.queryCluster()],
  queryAllVolumes: (s) => [s.queryAllVolumes()],
  queryAllSds: (s) => [s.queryAllSds()],
  queryAllSdc: (s) => [s.queryAllSdc()],
  queryAll: (s) => [s.queryAll()],
  queryVolume: (s) => [s.queryVolume("vol1")],
  // Day 2 (issue 20).
  switchClusterModeRemoving: (s) =>
    s.dialect === "1.3x"
      ? []
      : [
          s.switchClusterModeRemoving("3_node", {
            addSlaves: [],
            addTbs: ["tb2"],
            removeSlaves: ["s2"],
            removeTbs: ["tb1", "tb3"],
          }),
        ],
  removeStandby: (s) => [s.removeStandby("10.0.0.3")],
  switchOwnership: (s) => [s.switchOwnership("mdm2")],
  removeSds: (s) => [s.removeSds("10.0.0.4")],
  removeSdc: (s) => [s.removeSdc("10.0.0.4")],
};

/** Public builder methods of Scli (everything on the prototype but the constructor and base). */
function builderNames(): string[] {
  return Object.getOwnPropertyNames(Scli.prototype).filter(
    (n) =>
      n !== "constructor" &&
      n !== "base" &&
      n !== "fed" &&
      typeof (Scli.prototype as unknown as Record<string, unknown>)[n] === "function",
  );
}

describe("emulator scli surface vs the installer's builders", () => {
  it("knows argument sets for every builder the installer has", () => {
    const missing = builderNames().filter((n) => !(n in CALLS));
    expect(
      missing,
      `Scli builders without an entry in CALLS of ${path.basename(__filename)}: add their calls so the emulator is checked against them`,
    ).toEqual([]);
  });

  for (const dialect of ["2.x", "3.x", "1.3x"] as const) {
    it(`accepts every command line the ${dialect} builders produce`, () => {
      const s = new Scli(dialect, IPS);
      const lines = builderNames().flatMap((n) => CALLS[n](s).map((c) => c.line));
      const parsed = parseLines(lines);
      expect(parsed).toHaveLength(lines.length);
      const refused = parsed
        .map((p, i) => ({ line: lines[i], p }))
        .filter(({ p }) => !p.ok)
        .map(({ line, p }) => `${line}\n  -> ${p.error}`);
      expect(refused, refused.join("\n")).toEqual([]);
      // Passwords are not arguments: scli reads them on stdin.
      const login = parsed[lines.findIndex((l) => l.includes("--login"))];
      expect(login).toMatchObject({ ok: true, cmd: "login" });
      expect(login.args?.password).toBeUndefined();
      expect(
        lines.filter((l) => /Secret-1|--password|--old_password|--new_password/.test(l)),
      ).toEqual([]);
    });

    it(`the emulator's scli reads the passwords the ${dialect} builders pipe to it`, () => {
      const s = new Scli(dialect, IPS);
      // The builder's line with scli swapped for the emulator's own password reader.
      const run = (c: ScliCommand, keys: string[]) =>
        execFileSync("/bin/sh", ["-c", c.line.replace(/\| scli .*$/, '| python3 -c "$READER"')], {
          env: {
            ...process.env,
            PYTHONPATH: LIB,
            READER: `from scaleio_emu import scli\nfor k in ${JSON.stringify(keys)}: print(scli.read_secret({}, k, 0))`,
            MDM_PASSWORD: "Secret-1 x",
            MDM_DEFAULT_PASSWORD: "admin",
          },
        }).toString();
      expect(run(s.login("admin", "MDM_PASSWORD"), ["password"])).toBe("Secret-1 x\n");
      expect(
        run(s.setPassword("MDM_DEFAULT_PASSWORD", "MDM_PASSWORD"), [
          "old_password",
          "new_password",
        ]),
      ).toBe("admin\nSecret-1 x\n");
    });
  }
});

describe("emulator scli surface vs public automation", () => {
  it("accepts the four forms of issue 13 as written", () => {
    const cases: [string, string][] = [
      [
        "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_ip 10.0.0.2 --add_tb_ip 10.0.0.3",
        "switch_cluster_mode",
      ],
      [
        "--add_sds --sds_ip 10.0.0.1 --sds_name node1 --protection_domain_name pd1 --storage_pool_name sp1",
        "add_sds",
      ],
      [
        "--add_sds_device --sds_ip 10.0.0.1 --protection_domain_name pd1 --storage_pool_name sp1 --device_path /dev/vdb",
        "add_sds_device",
      ],
      ["--version", "version"],
    ];
    const parsed = parseAll(cases.map(([line]) => line.split(" ")));
    cases.forEach(([line, cmd], i) => expect(parsed[i], line).toMatchObject({ ok: true, cmd }));
  });

  it("accepts the selector and option forms other tools write", () => {
    const lines = [
      "--add_sds_device --sds_name SDS1 --storage_pool_name SP1 --device_path /dev/sdb --force_device_takeover",
      "--add_sds_device --sds_id 1a2b --storage_pool_id 3c4d --device_path /dev/sdb --device_name d1 --no_test",
      "--add_sds --sds_ip 10.0.0.1 --sds_ip_role all --protection_domain_name pd1 --sds_name SDS_10.0.0.1",
      "--add_sds --sds_name s --protection_domain_name pd --device_path /dev/sda --sds_ip 10.0.0.1 --storage_pool_name p --sds_port 3454 --fault_set_name fs1",
      "--add_fault_set --protection_domain_name pd1 --fault_set_name fs1",
      "--query_all_fault_sets --protection_domain_name pd1",
      "--switch_cluster_mode --cluster_mode 5_node --add_slave_mdm_ip 10.0.0.2,10.0.0.3 --add_tb_ip 10.0.0.4,10.0.0.5 --i_am_sure",
      "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_id 0x1 --add_tb_id 0x2",
      "--create_mdm_cluster --master_mdm_ip 10.0.0.1 --use_nonsecure_communication --accept_license",
      "--create_mdm_cluster --master_mdm_ip 10.0.0.1 --master_mdm_management_ip 10.0.0.1 --master_mdm_virtual_ip_interface eth0 --accept_license --approve_certificate",
      "--add_standby_mdm --new_mdm_ip 10.0.0.2 --mdm_role manager --new_mdm_virtual_ip_interface eth0",
      "--remove_standby_mdm --remove_mdm_ip 10.0.0.4",
      "--switch_mdm_ownership --new_master_mdm_ip 10.0.0.2",
      "--unmap_volume_from_sdc --volume_name v --all_sdcs --i_am_sure",
      "--map_volume_to_sdc --volume_id 1a --sdc_guid 53023EC4-D754-46A4-B343-0CA5D3A4F55C --allow_multi_map",
      "--query_cluster --mdm_ip 10.0.0.1,10.0.0.2 --approve_certificate",
      "--query_sds --sds_ip 10.0.0.1",
      "--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 8 --volume_name v --thin_provisioned",
      // CoprHD ScaleIOSnapshotMultiVolumeCommand, ScaleIOModifyVolumeCapacityCommand; the
      // labbuildr ScaleIO PowerShell module (removal flags); kidluc/scaleiobasic 6-manage.md.
      "--snapshot_volume --volume_id 1a,2b --snapshot_name s1,s2",
      "--snapshot_volume --volume_name v",
      "--modify_volume_capacity --volume_id 1a --size_gb 56",
      "--remove_volume --volume_id 1a --i_am_sure --remove_with_descendant_snapshots",
      "--remove_volume --volume_id 1a --i_am_sure --remove_entire_snapshot_tree",
      "--remove_volume --volume_id 1a --i_am_sure --remove_descendant_snapshots_only",
    ];
    const parsed = parseAll(lines.map((l) => l.split(" ")));
    lines.forEach((line, i) => expect(parsed[i].ok, `${line}\n${parsed[i].error}`).toBe(true));
  });

  it("refuses unknown commands and options, values in the wrong place, and missing selectors", () => {
    const cases: [string, RegExp][] = [
      ["--frobnicate", /Unknown command --frobnicate/],
      ["--modify_volume_capacity --volume_id 1a", /--size_gb/],
      [
        "--remove_volume --volume_id 1a --remove_entire_snapshot_tree --remove_with_descendant_snapshots",
        /Use only one of --remove_with_descendant_snapshots/,
      ],
      [
        "--add_sds --sds_ip 10.0.0.1 --protection_domain_name pd1 --sds_nmae x",
        /Unknown option --sds_nmae for --add_sds/,
      ],
      ["--query_cluster --approve_certificate yes", /--approve_certificate takes no value/],
      ["--add_sds --sds_ip --protection_domain_name pd1", /--sds_ip needs a value/],
      [
        "--add_sds_device --device_path /dev/vdb --storage_pool_name sp1",
        /exactly one of --sds_id \| --sds_name \| --sds_ip/,
      ],
      [
        "--add_sds_device --sds_ip 1 --sds_name n --device_path /dev/vdb --storage_pool_name sp1",
        /exactly one of .*\(got --sds_name --sds_ip\)/,
      ],
      [
        "--add_sds --sds_ip 10.0.0.1 --protection_domain_name pd1 --device_path /dev/vdb",
        /--device_path at --add_sds needs --storage_pool_name/,
      ],
      ["--query_cluster --query_all", /Only one command at a time/],
      [
        "--switch_cluster_mode --cluster_mode 4_node",
        /--cluster_mode must be 1_node, 3_node or 5_node/,
      ],
      [
        "--add_standby_mdm --new_mdm_ip 10.0.0.2 --mdm_role slave",
        /--mdm_role must be manager or tb/,
      ],
      ["", /No command given/],
      ["--login --username admin --password a b", /Unexpected argument 'b'/],
    ];
    const parsed = parseAll(cases.map(([line]) => (line ? line.split(" ") : [])));
    for (const [i, [line, message]] of cases.entries()) {
      const p = parsed[i];
      expect(p.ok, line).toBe(false);
      expect(p.code, line).toBe(2);
      expect(p.error, line).toMatch(message);
      // A usage error is never dressed up as the MDM's refusal.
      expect(p.error).not.toMatch(/MDM failed command/);
    }
  });
});

describe("emulator output layouts by package version", () => {
  const members = [
    {
      id: "0xa1",
      name: "mdm1",
      ips: ["10.0.0.1", "192.168.0.1"],
      mgmt_ips: ["10.0.0.1"],
      manager: true,
      role: "master",
    },
    {
      id: "0xa2",
      name: null,
      ips: ["10.0.0.2"],
      mgmt_ips: ["10.0.0.2"],
      manager: true,
      role: "slave",
    },
    { id: "0xa3", name: "tb1", ips: ["10.0.0.3"], mgmt_ips: [], manager: false, role: "tb" },
    {
      id: "0xa4",
      name: "mdm4",
      ips: ["10.0.0.4"],
      mgmt_ips: ["10.0.0.4"],
      manager: true,
      role: "standby",
    },
  ];
  const cluster = (version: string) => ({
    system: { id: "1b4455d9c41e502a", name: null, version },
    mode: "3_node",
    members,
    up: { "0xa1": true, "0xa2": true, "0xa3": true, "0xa4": true },
  });
  const fmt = (fn: string, s: unknown) =>
    python(
      `import json,sys; from scaleio_emu import scli; print(scli.${fn}(json.load(sys.stdin)))`,
      JSON.stringify(s),
    );

  it("2.0 (before 2.0.1): no virtual IP lines; unnamed MDMs show only their ID", () => {
    const out = fmt("fmt_cluster", cluster("2.0-5014.0"));
    expect(out).not.toMatch(/Virtual IP/);
    expect(out).toMatch(
      /^Cluster:\n {4}Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2\nMaster MDM:\n/,
    );
    expect(out).toMatch(
      /\nSlave MDMs:\n {4}ID: 0xa2\n {8}IPs: 10\.0\.0\.2, Management IPs: 10\.0\.0\.2, Port: 9011\n {8}Status: Normal, Version: 2\.0\.5014\n/,
    );
    expect(out).toMatch(
      / {8}IPs: 10\.0\.0\.1, 192\.168\.0\.1, Management IPs: 10\.0\.0\.1, Port: 9011\n {8}Version: 2\.0\.5014\n/,
    );
    // Standby MDMs: the role trails the ID, no Status/Version line.
    expect(out).toMatch(
      /Standby MDMs:\n {4}Name: mdm4, ID: 0xa4, Manager\n {8}IPs: 10\.0\.0\.4, Management IPs: 10\.0\.0\.4, Port: 9011\n$/,
    );
  });

  it("2.0.1 and 2.5: Virtual IPs lines; 3.x: IP Addresses keys, SDC refresh line, Status on the master", () => {
    for (const v of ["2.0-14000.231", "2.5-0.254"]) {
      const out = fmt("fmt_cluster", cluster(v));
      expect(out).toMatch(/^Cluster:\n {4}Mode: 3_node, .*\n {4}Virtual IPs: N\/A\n/);
      expect(out).toMatch(/Port: 9011, Virtual IP interfaces: N\/A\n {8}Version: /);
    }
    expect(fmt("fmt_cluster", cluster("2.5-0.254"))).toMatch(/Version: 2\.5\.0/);
    const out3 = fmt("fmt_cluster", cluster("3.6-700.103"));
    expect(out3).toMatch(
      /^Cluster:\n {4}Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2\n {4}SDC refresh with MDM IP addresses: disabled\n {4}Virtual IP Addresses: N\/A\n/,
    );
    expect(out3).toMatch(
      /Master MDM:\n {4}Name: mdm1, ID: 0xa1\n {8}IP Addresses: 10\.0\.0\.1, 192\.168\.0\.1, Management IP Addresses: 10\.0\.0\.1, Port: 9011, Virtual IP interfaces: N\/A\n {8}Status: Normal, Version: 3\.6\.700\n/,
    );
  });

  it("answers like a real MDM that belongs to no system, per version", () => {
    const status = (v: string) =>
      python(`from scaleio_emu import scli; print(scli.unattached_status("${v}"))`).trim();
    expect(status("2.0-5014.0")).toBe("The MDM cluster state is incorrect");
    expect(status("2.0-14000.231")).toBe("This MDM is not attached to a system.");
    expect(status("3.6-700.103")).toBe("This MDM is not attached to a system.");
  });

  it("prints --version from the package version, with (Debug) when the knob asks for it", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "emu-version-"));
    try {
      fs.mkdirSync(path.join(root, "opt/emc/scaleio/mdm/cfg"), { recursive: true });
      fs.writeFileSync(path.join(root, "opt/emc/scaleio/mdm/cfg/version"), "3.6-700.103\n");
      const line = () =>
        python("from scaleio_emu import scli; print(scli.version_line())", "", {
          SCALEIO_EMU_ROOT: root,
        }).trim();
      const plain = line();
      expect(plain.split(" ").pop()).toBe("R3_6.700.103");
      fs.mkdirSync(path.join(root, "etc/scaleio-emu"), { recursive: true });
      fs.writeFileSync(path.join(root, "etc/scaleio-emu/knobs"), "debug_build=1\n");
      const debug = line();
      expect(debug).toMatch(/ R3_6\.700\.103 \(Debug\)$/);
      // What automation does: strip " (Debug)", take the last word.
      expect(
        debug
          .replace(/ \(Debug\)$/, "")
          .split(" ")
          .pop(),
      ).toMatch(/^R\d+_\d+\.\d+\.\d+$/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it("prints --query_all and --query_all_sdc in the layout real 2.0 MDMs print", () => {
    const s = {
      ...cluster("2.0-14000.231"),
      system: { id: "78221ddb0dcff2f5", name: "lab", version: "2.0-14000.231" },
      pds: [{ id: "073890cb00000000", name: "pd1" }],
      pools: [{ id: "08cd1e2100000000", name: "sp1", pd: "073890cb00000000" }],
      fault_sets: [],
      sds: [],
      sdcs: [
        {
          id: "64fae10900000000",
          name: null,
          ip: "10.0.0.5",
          guid: "53023EC4-D754-46A4-B343-0CA5D3A4F55C",
          version: "2.0-14000.231",
        },
      ],
      volumes: [
        { id: "v1", name: "vol1", size_gb: 16, pool: "08cd1e2100000000", thin: false, mapped: [] },
      ],
      capacity_gb: { "08cd1e2100000000": 100 },
      up: { "64fae10900000000": true },
    };
    const all = fmt("fmt_all", s);
    expect(all).toMatch(
      /^System Info:\n {4}Product: {2}EMC ScaleIO Version: R2_0\.14000\.231\n {4}ID: {6}78221ddb0dcff2f5\n/,
    );
    expect(all).toMatch(/\n {4}Name: {5}lab\n/);
    expect(all).toMatch(
      /\nQuery all returned 1 Protection Domain:\nProtection Domain pd1 \(Id: 073890cb00000000\) has 1 storage pools, 0 Fault Sets, 0 SDS nodes, 1 volumes and 84\.0 GB \(86016 MB\) available for volume allocation\nOperational state is Active\n/,
    );
    expect(all).toMatch(/\nStorage Pool sp1 \(Id: 08cd1e2100000000\) has 1 volumes and 84\.0 GB/);
    const sdc = fmt("fmt_all_sdc", s);
    expect(sdc).toMatch(
      /^MDM restricted SDC mode: Disabled\nQuery all SDC returned 1 SDC nodes\.\nSDC ID: 64fae10900000000 Name: N\/A IP: 10\.0\.0\.5 State: Connected GUID: 53023EC4-D754-46A4-B343-0CA5D3A4F55C OS Type: LINUX Loaded Version: 2\.0\.14000 Installed Version: 2\.0\.14000\n {4}Read bandwidth: {2}0 IOPS 0 Bytes per-second\n/,
    );
  });
});
