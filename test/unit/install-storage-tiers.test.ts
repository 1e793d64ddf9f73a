// Storage tiers (issue 21): the device assignment (install/pools.ts), and the storage stage on
// the scripted runner against a small MDM model that answers scli in the layouts the parsers
// read (--query_all 1.3x/2.0, --query_all_sds/_volumes 2.x, --query_sds 2.0.12000): two pools
// of different media, a no-op second run, a device added later, a device moved between pools
// and a dropped pool holding a volume refused before any change.
import { describe, expect, it } from "vitest";
import { InstallContext } from "../../src/install/context";
import { assignDevices, poolsDiffKey, type StoragePoolSpec } from "../../src/install/pools";
import type { RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import { diff, relevant } from "../../src/install/provider";
import { configureStorage } from "../../src/install/stages/storage";
import type { Machine } from "../../src/machine";
import { fail, ok, ScriptedHosts } from "./support/scripted-hosts";

const machine = (i: number, disks = ["/dev/vdb", "/dev/vdc"]): Machine => ({
  name: `node${i}`,
  mdm: i === 1 ? "master" : i === 2 ? "slave" : "tiebreaker",
  services: ["sds", "sdc", "docker"],
  sshHost: "127.0.0.1",
  sshPort: 22,
  sshUser: "root",
  publicAddress: `10.0.0.${i}`,
  privateAddress: `10.0.0.${i}`,
  dataDisks: disks,
  os: "centos7",
});

const TIERS: StoragePoolSpec[] = [
  { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1] },
  { name: "capacity", mediaType: "HDD", protectionDomain: "pd1" },
];

const spec = (o: Partial<InstallSpec> = {}, disks?: string[]): InstallSpec =>
  ({
    machines: [1, 2, 3].map((i) => machine(i, disks)),
    protectionDomain: "pd1",
    storagePool: "fast",
    mediaType: "SSD",
    storagePools: TIERS,
    mdmPassword: "Lab-Mdm-Pw1",
    gatewayPassword: "Gw-pass1",
    privateKey: "unused",
    ...o,
  }) as InstallSpec;

/** The MDM's objects, and scli answered from them (only what the storage stage asks). */
class FakeMdm {
  pools: { pd: string; name: string; media?: string }[] = [];
  sds: { name: string; ip: string; pd: string; devices: { path: string; pool: string }[] }[] = [];
  volumes: { name: string; pd: string; pool: string }[] = [];
  changes: string[] = [];

  answer(command: string) {
    if (command.includes('[ -b "$d" ]')) return ok("");
    const m = /^scli --(\w+)/.exec(command);
    if (!m) throw new Error(`unexpected command ${command}`);
    const a = Object.fromEntries(
      [...command.matchAll(/--(\w+) ('[^']*'|[^\s<-]\S*)/g)].map((x) => [x[1], x[2]]),
    );
    if (m[1].startsWith("query")) return ok(this.query(m[1], a));
    this.changes.push(`${m[1]} ${JSON.stringify(a)}`);
    return this.change(m[1], a);
  }

  private query(q: string, a: Record<string, string>): string {
    const pds = [...new Set(this.pools.map((p) => p.pd))];
    if (q === "query_all")
      return pds
        .flatMap((pd, i) => [
          `Protection Domain ${pd} (Id: ${i}0) has 0 storage pools`,
          ...this.pools
            .filter((p) => p.pd === pd)
            .map((p, j) => `Storage Pool ${p.name} (Id: ${i}${j + 1}) has 0 volumes`),
        ])
        .join("\n");
    if (q === "query_all_sds")
      return this.sds
        .map(
          (s, i) =>
            `Protection Domain ${i}0 Name: ${s.pd}\nSDS ID: ${i}a Name: ${s.name} State: Connected, Joined IP: ${s.ip} Port: 7072`,
        )
        .join("\n");
    if (q === "query_sds") {
      const s = this.sds.find((x) => x.ip === a.sds_ip);
      if (!s) throw new Error(`no SDS at ${a.sds_ip}`);
      return [
        `SDS 1a Name: ${s.name} Version: 3.6`,
        `Protection Domain: 10, Name: ${s.pd}`,
        `Device information total ${s.devices.length} devices:`,
        ...s.devices.flatMap((d, i) => [
          `     ${i + 1}: Name: N/A  Path: ${d.path}  Original-path: ${d.path}  ID: ${i}d`,
          `        Storage Pool: ${d.pool}, Capacity: 120.0 GB State: Normal`,
        ]),
      ].join("\n");
    }
    if (q === "query_all_volumes")
      return this.pools
        .flatMap((p, i) => [
          `Protection Domain ${i}0 Name: ${p.pd}`,
          `Storage Pool ${i}1 Name: ${p.name}`,
          ...this.volumes
            .filter((v) => v.pool === p.name && v.pd === p.pd)
            .map(
              (v, j) =>
                ` Volume ID: ${i}${j}f Name: ${v.name} Size: 8.0 GB (8192 MB) Unmapped Thick-provisioned`,
            ),
        ])
        .join("\n");
    throw new Error(`unexpected query ${q}`);
  }

  private change(c: string, a: Record<string, string>) {
    if (c === "add_protection_domain") return ok("Successfully created protection domain");
    if (c === "add_storage_pool") {
      this.pools.push({
        pd: a.protection_domain_name,
        name: a.storage_pool_name,
        media: a.media_type,
      });
      return ok("Successfully created a storage pool");
    }
    if (c === "add_sds") {
      const paths = a.device_path.split(",");
      const pools = a.storage_pool_name.split(",");
      this.sds.push({
        name: a.sds_name,
        ip: a.sds_ip,
        pd: a.protection_domain_name,
        devices: paths.map((p, i) => ({ path: p, pool: pools[pools.length > 1 ? i : 0] })),
      });
      return ok("Successfully created SDS");
    }
    const sds = this.sds.find((s) => s.name === a.sds_name);
    if (c === "add_sds_device" && sds) {
      sds.devices.push({ path: a.device_path, pool: a.storage_pool_name });
      return ok("Successfully added device");
    }
    if (c === "remove_sds_device" && sds) {
      sds.devices = sds.devices.filter((d) => d.path !== a.device_path);
      return ok("will be removed");
    }
    if (c === "remove_storage_pool") {
      this.pools = this.pools.filter((p) => p.name !== a.storage_pool_name);
      return ok("removed");
    }
    return fail(7, "", `unexpected ${c}`);
  }
}

async function runStorage(mdm: FakeMdm, s: InstallSpec): Promise<Error | undefined> {
  const hosts = new ScriptedHosts((_h, command) => mdm.answer(command));
  const ctx = new InstallContext(s, { dialect: "3.x" } as RpmSet, { log: () => undefined }, hosts);
  ctx.scliLogins.set("node1", "60dda64f1574400f");
  return configureStorage(ctx).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
}

describe("storage pools: which device goes where", () => {
  it("numbers take each node's nth data disk; the pool without disks takes the rest", () => {
    const nodes = assignDevices(spec());
    expect(nodes[0]).toEqual({
      node: "node1",
      protectionDomain: "pd1",
      devices: [
        { path: "/dev/vdb", pool: "fast" },
        { path: "/dev/vdc", pool: "capacity" },
      ],
    });
  });

  it("refuses a device in two pools, a missing disk, a device in no pool, two protection domains", () => {
    const two = spec({
      storagePools: [
        { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1, 3] },
        {
          name: "capacity",
          mediaType: "HDD",
          protectionDomain: "pd2",
          devices: { node1: ["/dev/vdb"] },
        },
      ],
    });
    const msg = (() => {
      try {
        assignDevices(two);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(msg).toContain("storage pool fast takes data disk 3 of every SDS node, but node1 has 2");
    expect(msg).toContain("/dev/vdb on node1 is in two storage pools (fast and capacity)");
    expect(msg).toContain("/dev/vdc on node2 is in no storage pool");
    expect(msg).toContain("Nothing was changed.");
  });

  it("the single pool of the old keys adds nothing to the diff; tiers do", () => {
    const legacy = { protectionDomain: "pd1", storagePool: "sp1", mediaType: "HDD" as const };
    expect(poolsDiffKey(legacy)).toBeUndefined();
    expect(poolsDiffKey({ ...legacy, storagePools: TIERS })).toEqual([
      ["fast", "SSD", "pd1", [1], {}],
      ["capacity", "HDD", "pd1", [], {}],
    ]);
  });
});

describe("the resources' diff", () => {
  const legacy = spec({ storagePools: undefined, storagePool: "sp1", mediaType: "HDD" });
  const inputs = (kind: "StorageLayout" | "DockerVolume" | "VolumePlugin", s: InstallSpec) => ({
    kind,
    host: "node1",
    spec: s,
  });

  it("a stack of the old keys compares exactly what it compared before tiers", () => {
    expect(JSON.parse(relevant(inputs("StorageLayout", legacy)))).toEqual({
      sds: [1, 2, 3].map((i) => [`node${i}`, `10.0.0.${i}`, ["/dev/vdb", "/dev/vdc"]]),
      pd: "pd1",
      sp: "sp1",
      media: "HDD",
    });
    expect(JSON.parse(relevant(inputs("DockerVolume", legacy)))).toMatchObject({
      pd: "pd1",
      sp: "sp1",
    });
    expect(JSON.parse(relevant(inputs("VolumePlugin", legacy)))).toMatchObject({
      pd: "pd1",
      sp: "sp1",
    });
  });

  it("tiers, and the pools the user picks, are part of it", () => {
    const tiers = spec({ dockerVolumePool: "capacity" });
    const olds = { ...inputs("StorageLayout", tiers), changes: 0 };
    expect(diff(olds, inputs("StorageLayout", tiers)).changes).toBe(false);
    const more = spec({ storagePools: [TIERS[0], { ...TIERS[1], mediaType: "Transitional" }] });
    expect(diff(olds, inputs("StorageLayout", more)).changes).toBe(true);
    expect(JSON.parse(relevant(inputs("DockerVolume", tiers)))).toMatchObject({ sp: "capacity" });
    expect(JSON.parse(relevant(inputs("VolumePlugin", tiers)))).toMatchObject({ sp: "fast" });
  });
});

describe("the storage stage with two tiers", () => {
  it("builds both pools and every SDS with its devices in their pools; a second run changes nothing", async () => {
    const mdm = new FakeMdm();
    expect(await runStorage(mdm, spec())).toBeUndefined();
    expect(mdm.pools).toEqual([
      { pd: "pd1", name: "fast", media: "SSD" },
      { pd: "pd1", name: "capacity", media: "HDD" },
    ]);
    expect(mdm.sds.map((s) => s.devices)).toEqual(
      [1, 2, 3].map(() => [
        { path: "/dev/vdb", pool: "fast" },
        { path: "/dev/vdc", pool: "capacity" },
      ]),
    );
    const first = mdm.changes.length;
    expect(await runStorage(mdm, spec())).toBeUndefined();
    expect(mdm.changes.slice(first)).toEqual([]);
  });

  it("the single pool of the old keys: one pool, each SDS with all its devices in it", async () => {
    const mdm = new FakeMdm();
    const legacy = spec({ storagePools: undefined, storagePool: "sp1", mediaType: "HDD" });
    expect(await runStorage(mdm, legacy)).toBeUndefined();
    expect(mdm.changes.map((c) => c.split(" ")[0])).toEqual([
      "add_protection_domain",
      "add_storage_pool",
      "add_sds",
      "add_sds",
      "add_sds",
    ]);
    expect(mdm.changes[2]).toContain('"device_path":"/dev/vdb,/dev/vdc"');
    expect(mdm.changes[2]).toContain('"storage_pool_name":"sp1"');
  });

  it("adds a device given later to its pool on every node, and nothing else", async () => {
    const mdm = new FakeMdm();
    await runStorage(mdm, spec());
    const before = mdm.changes.length;
    const three = ["/dev/vdb", "/dev/vdc", "/dev/vdd"];
    expect(await runStorage(mdm, spec({}, three))).toBeUndefined();
    expect(mdm.changes.slice(before)).toEqual(
      ["node1", "node2", "node3"].map(
        (n) =>
          `add_sds_device {"sds_name":"${n}","storage_pool_name":"capacity","device_path":"/dev/vdd","mdm_ip":"10.0.0.1,10.0.0.2"}`,
      ),
    );
  });

  it("refuses a device moved to another pool, with the fix, before any change", async () => {
    const mdm = new FakeMdm();
    await runStorage(mdm, spec());
    const before = mdm.changes.length;
    const swapped = spec({
      storagePools: [
        { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [2] },
        { name: "capacity", mediaType: "HDD", protectionDomain: "pd1", disks: [1] },
        { name: "archive", mediaType: "HDD", protectionDomain: "pd1" },
      ],
    });
    const e = await runStorage(mdm, swapped);
    expect(e?.message).toContain(
      "device /dev/vdb of node1 is in storage pool fast, but the config puts it in capacity",
    );
    expect(e?.message).toContain(
      "scli --remove_sds_device --sds_name node1 --device_path /dev/vdb",
    );
    expect(e?.message).toMatch(/Nothing was changed\.$/);
    expect(mdm.changes.slice(before)).toEqual([]);
  });

  it("refuses to drop a pool that holds volumes, naming them; removes an empty one", async () => {
    const mdm = new FakeMdm();
    const withArchive = spec(
      {
        storagePools: [
          ...TIERS.slice(0, 1),
          { ...TIERS[1], disks: [2] },
          { name: "archive", mediaType: "HDD", protectionDomain: "pd1", disks: [3] },
        ],
      },
      ["/dev/vdb", "/dev/vdc", "/dev/vdd"],
    );
    expect(await runStorage(mdm, withArchive)).toBeUndefined();
    mdm.volumes.push({ name: "db-data", pd: "pd1", pool: "archive" });
    const before = mdm.changes.length;
    // archive dropped, and its disks no longer data disks of the stack.
    const dropped = spec({ storagePools: [TIERS[0], { ...TIERS[1], disks: [2] }] }, [
      "/dev/vdb",
      "/dev/vdc",
    ]);
    const e = await runStorage(mdm, dropped);
    expect(e?.message).toContain(
      "storage pool archive (protection domain pd1) is no longer in storagePools but holds 1 volume(s): db-data",
    );
    expect(mdm.changes.slice(before)).toEqual([]);
    mdm.volumes = [];
    expect(await runStorage(mdm, dropped)).toBeUndefined();
    expect(mdm.changes.slice(before).map((c) => c.split(" ")[0])).toEqual([
      "remove_sds_device",
      "remove_sds_device",
      "remove_sds_device",
      "remove_storage_pool",
    ]);
    expect(mdm.pools.map((p) => p.name)).toEqual(["fast", "capacity"]);
  });
});
