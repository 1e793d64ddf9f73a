// Storage tiers (issue 21) on three lab hosts with the emulator's 3.6 packages: a `fast` SSD
// pool on each host's first disk and a `capacity` HDD pool on the rest; the Docker hosts'
// volumes go to `fast` (dockerVolumePool), the volume plugin's to `capacity`
// (volumePluginPool), as `scli --query_storage_pool` shows; a second install changes nothing;
// a disk given later joins its pool on every host; a device moved to another pool, and a pool
// dropped from the config while it holds a volume, are refused (naming the device or the
// volume) with nothing changed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LogLine } from "../../src/install/log";
import { runInstall } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import { volumeName } from "../../src/install/stages/volumes";
import { labSh, PLUGIN_CONFIG, requireRoot, startInstallLab, stopInstallLab } from "./fixtures";
import type { Lab } from "./hosts";

const MDM_PASSWORD = "St-Mdm-Pw1";
const GATEWAY_PASSWORD = "St-Gw-Pw2";

requireRoot();

describe("storage tiers", () => {
  let lab: Lab;
  let tmp: string;
  let spec: InstallSpec;
  const logs: LogLine[] = [];
  const times: Record<string, number> = {};

  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  const scli = (args: string) =>
    sh(
      "node1",
      `scli --login --username admin --password ${MDM_PASSWORD} >/dev/null && scli ${args}`,
    );
  const pool = (name: string) =>
    scli(`--query_storage_pool --protection_domain_name pd1 --storage_pool_name ${name}`);
  /** The spec with each host's first `disks` data disks and these pools. */
  const withDisks = (disks: number, o: Partial<InstallSpec> = {}): InstallSpec => ({
    ...spec,
    machines: spec.machines.map((m, i) => ({
      ...m,
      dataDisks: lab.hosts[i].dataDisks.slice(0, disks),
    })),
    ...o,
  });
  const install = async (s: InstallSpec, label: string) => {
    const t = Date.now();
    try {
      return await runInstall(s, { log: (l) => logs.push(l) });
    } finally {
      times[label] = (Date.now() - t) / 1000;
    }
  };

  beforeAll(async () => {
    const started = await startInstallLab({
      name: "sttiers",
      tmpPrefix: "ah-sttiers-",
      clusterName: "sttiers",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      dataDisks: { count: 3, sizeGb: 120 },
    });
    ({ lab, tmp } = started);
    spec = {
      ...started.spec,
      storagePool: "fast",
      mediaType: "SSD",
      storagePools: [
        { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1] },
        { name: "capacity", mediaType: "HDD", protectionDomain: "pd1" },
      ],
      dockerVolumePool: "fast",
      volumePluginPool: "capacity",
    };
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
    console.log("storage tiers timings (s):", JSON.stringify(times));
  });

  it("builds two pools of different media; Docker's volumes in fast, the plugin's in capacity", async () => {
    await install(withDisks(2), "install");
    const fast = await pool("fast");
    expect(fast).toContain("Media type: SSD");
    for (const h of lab.hosts) expect(fast).toContain(`Name: ${volumeName(h.name)}`);
    const capacity = await pool("capacity");
    expect(capacity).toContain("Media type: HDD");
    expect(capacity).toContain("0 Volumes.");
    expect(JSON.parse(await sh("node2", `cat ${PLUGIN_CONFIG}`))).toMatchObject({
      protectionDomain: "pd1",
      storagePool: "capacity",
    });
    await sh("node2", "docker volume create -d scaleio -o size=8 tier1");
    expect(await pool("capacity")).toContain("Name: dv-tier1");
    expect(await pool("fast")).not.toContain("dv-tier1");
    const sds = await scli(`--query_sds --sds_ip ${lab.hosts[2].privateAddress}`);
    expect(sds).toMatch(/Original-path: \/dev\/vdb[\s\S]*Storage Pool: fast,/);
    expect(sds).toMatch(/Original-path: \/dev\/vdc[\s\S]*Storage Pool: capacity,/);
  });

  it("a second install changes nothing", async () => {
    const r = await install(withDisks(2), "again");
    expect(r.changes).toEqual([]);
  });

  it("a disk given later joins its pool on every host, and nothing else changes", async () => {
    const r = await install(withDisks(3), "addDisk");
    expect(r.changes.map((c) => [c.host, c.step])).toEqual([
      ["node1", "StorageLayout"],
      ["node1", "StorageLayout"],
      ["node1", "StorageLayout"],
    ]);
    for (const h of lab.hosts)
      expect(await scli(`--query_sds --sds_ip ${h.privateAddress}`)).toMatch(
        /Original-path: \/dev\/vdd[\s\S]*Storage Pool: capacity,/,
      );
  });

  it("refuses a device moved to another pool, with the fix, before any change", async () => {
    const before = await pool("fast");
    const moved = withDisks(3, {
      storagePools: [
        { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1, 2] },
        { name: "capacity", mediaType: "HDD", protectionDomain: "pd1" },
      ],
    });
    const e = await install(moved, "moved").then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).toContain(
      "device /dev/vdc of node1 is in storage pool capacity, but the config puts it in fast",
    );
    expect(e?.message).toContain(
      "scli --remove_sds_device --sds_name node1 --device_path /dev/vdc",
    );
    expect(await pool("fast")).toBe(before);
  });

  it("refuses to drop a pool that holds a volume, naming it, before any change", async () => {
    const before = await pool("capacity");
    const dropped = withDisks(1, {
      storagePools: [{ name: "fast", mediaType: "SSD", protectionDomain: "pd1" }],
      volumePluginPool: undefined,
    });
    const e = await install(dropped, "refused").then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(e?.message).toContain(
      "storage pool capacity (protection domain pd1) is no longer in storagePools but holds 1 volume(s): dv-tier1",
    );
    expect(e?.message).toContain("Nothing was changed.");
    expect(await pool("capacity")).toBe(before);
  });
});
