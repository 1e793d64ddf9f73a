// The emulator's day-2 behaviour (issue 20) with its real daemons, on emulated hosts of our own
// (network namespaces + chroot, test/emulator/local-hosts.ts; one emulator lab at a time):
// an SDS removed while its data moves off, a removal the cluster cannot spare, an SDS host
// stopped and its data rebuilt, an SDC removed, 3 -> 5 -> 3 MDMs, and a stopped slave MDM
// replaced. Rules and sources: test/emulator/README.md, "Day 2". Needs root.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import {
  addDisk,
  hostExec,
  type ExecResult,
  type LocalHost,
  startLocalHosts,
  startService,
  stopService,
  teardownLocalHosts,
} from "../emulator/local-hosts";
import { requireRoot } from "./fixtures";

const V3 = "3.6-700.103";
const PASSWORD = "Arrowhead-1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry until check passes (the daemons work in the background); returns the last result. */
async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(500);
  }
}

function expectOk(r: ExecResult): string {
  expect(r.stderr + r.stdout, `exit ${r.code}`).not.toMatch(/^Error/m);
  expect(r.code).toBe(0);
  return r.stdout;
}

function expectFail(r: ExecResult, code: number, message: RegExp): void {
  expect(r.stderr + r.stdout).toMatch(message);
  expect(r.code).toBe(code);
}

/** The `<size> <what> capacity` value of an scli output (`0 Bytes`, `16.0 GB (16384 MB)`). */
function capacity(text: string, what: string): string | undefined {
  return new RegExp(`^ {4}(0 Bytes|[\\d.]+ GB \\(\\d+ MB\\)) ${what} capacity$`, "m").exec(
    text,
  )?.[1];
}

requireRoot();

describe("ScaleIO emulator, day 2, on local network-namespace hosts", () => {
  let h1: LocalHost, h2: LocalHost, h3: LocalHost, h4: LocalHost, h5: LocalHost;
  let outDir = "";
  const times: Record<string, number> = {};
  const scli = (args: string) => hostExec(h1, `scli ${args}`);
  const mdms = () => `--mdm_ip ${h1.ip}`;

  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "ed-rpms-"));
    const rpms = await buildEmulatorRpms({ version: V3, dist: "el8", outDir });
    const hosts = await startLocalHosts(["ed1", "ed2", "ed3", "ed4", "ed5"]);
    [h1, h2, h3, h4, h5] = hosts;
    for (const h of hosts) {
      fs.mkdirSync(path.join(h.root, "rpms"));
      for (const f of rpms) fs.copyFileSync(f, path.join(h.root, "rpms", path.basename(f)));
      await addDisk(h, "sdb", 100);
      // Every manager may become master: each gets the data move rate (README, "Knobs").
      fs.mkdirSync(path.join(h.root, "etc/scaleio-emu"), { recursive: true });
      fs.writeFileSync(path.join(h.root, "etc/scaleio-emu/knobs"), "data_move_gb_per_s=4\n");
    }
    const roles: [LocalHost, number][] = [
      [h1, 1],
      [h2, 1],
      [h3, 0],
      [h4, 1],
      [h5, 0],
    ];
    for (const [h, role] of roles) {
      const sdc =
        h === h1 || h === h4 ? ` && MDM_IP=${h1.ip},${h2.ip} rpm -i EMC-ScaleIO-sdc-*.rpm` : "";
      const r = await hostExec(
        h,
        `cd /rpms && MDM_ROLE_IS_MANAGER=${role} rpm -i EMC-ScaleIO-mdm-*.rpm && rpm -i EMC-ScaleIO-sds-*.rpm${sdc}`,
      );
      expect(r.code, r.stderr).toBe(0);
      startService(h, "mdm");
      startService(h, "sds");
      if (sdc) startService(h, "scini");
    }
  }, 300_000);

  afterAll(async () => {
    await teardownLocalHosts();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
    console.log("emulator day 2 timings (ms):", JSON.stringify(times));
  });

  it("builds a 3_node cluster with 4 SDSs of 100 GB and a 64 GB volume", async () => {
    await until(
      "the MDMs",
      () =>
        hostExec(
          h1,
          `python3 -c 'import socket, sys; [socket.create_connection((ip, 9011), 2).close() for ip in sys.argv[1:]]' ${h1.ip} ${h2.ip} ${h3.ip}`,
        ),
      (r) => r.code === 0,
      120_000,
    );
    expectOk(
      await scli(
        `--create_mdm_cluster --master_mdm_ip ${h1.ip} --master_mdm_name m1 --accept_license --approve_certificate`,
      ),
    );
    await until(
      "the new MDM",
      () => scli("--login --username admin --password admin --approve_certificate"),
      (r) => r.code === 0,
    );
    expectOk(await hostExec(h1, `printf 'admin\\n${PASSWORD}\\n' | scli --set_password`));
    expectOk(await scli(`--login --username admin --password ${PASSWORD}`));
    expectOk(
      await scli(`--add_standby_mdm --new_mdm_ip ${h2.ip} --mdm_role manager --new_mdm_name m2`),
    );
    expectOk(await scli(`--add_standby_mdm --new_mdm_ip ${h3.ip} --mdm_role tb --new_mdm_name t1`));
    expectOk(
      await scli(
        "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name m2 --add_tb_name t1",
      ),
    );
    expectOk(await scli("--add_protection_domain --protection_domain_name pd1"));
    expectOk(
      await scli(
        "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1 --media_type HDD",
      ),
    );
    for (const [i, h] of [h1, h2, h3, h4].entries()) {
      expectOk(
        await scli(
          `--add_sds --sds_ip ${h.ip} --device_path /dev/sdb --sds_name sds${i + 1} --protection_domain_name pd1 --storage_pool_name sp1`,
        ),
      );
    }
    expectOk(
      await scli(
        "--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 64 --volume_name vol1",
      ),
    );
    const sds4 = expectOk(await scli("--query_sds --sds_name sds4"));
    expect(sds4).toMatch(/Connection-state: Connected; SDS-state: Normal/);
    expect(capacity(sds4, "in-use")).toBe("32.0 GB (32768 MB)");
    const pool = expectOk(
      await scli("--query_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
    );
    expect(pool).toMatch(/^Storage Pool sp1 \(Id: [0-9a-f]{16}\) has 1 volumes and 116\.0 GB/);
    expect(capacity(pool, "in-use")).toBe("128.0 GB (131072 MB)");
  });

  it("removes an SDS only after its data moved off, showing the progress", async () => {
    const t = Date.now();
    expect(expectOk(await scli("--remove_sds --sds_name sds4"))).toMatch(
      /^SDS sds4 will be removed$/m,
    );
    const during = expectOk(await scli("--query_sds --sds_name sds4"));
    expect(during).toMatch(/SDS-state: RemovalInProgress/);
    expect(capacity(during, "in-use")).not.toBe("0 Bytes");
    expect(capacity(expectOk(await scli("--query_all")), "total moving")).not.toBe("0 Bytes");
    expectFail(await scli("--remove_sds --sds_name sds4"), 7, /SDS sds4 is already being removed/);
    // Watch the data leave: the SDS's in-use capacity falls step by step until it is gone.
    const seen: number[] = [];
    await until(
      "sds4 gone",
      async () => {
        const r = await scli("--query_sds --sds_name sds4");
        const inUse = /^ {4}([\d.]+) GB \(\d+ MB\) in-use capacity$/m.exec(r.stdout)?.[1];
        if (inUse) seen.push(Number(inUse));
        return r;
      },
      (r) => r.code === 7 && /Could not find the SDS/.test(r.stderr),
    );
    times.remove32GbAt4GbPerS = Date.now() - t;
    const steps = [...new Set(seen)];
    expect(steps.length, JSON.stringify(seen)).toBeGreaterThan(2);
    expect(steps).toEqual([...steps].sort((x, y) => y - x));
    expect(expectOk(await scli("--query_all_sds"))).not.toMatch(/sds4/);
    const all = expectOk(await scli("--query_all"));
    expect(all).toMatch(/^ {4}Total 3 SDS Nodes$/m);
    expect(capacity(all, "total moving")).toBe("0 Bytes");
    expect(capacity(expectOk(await scli("--query_sds --sds_name sds1")), "in-use")).toBe(
      "42.7 GB (43690 MB)",
    );
    // The released SDS can join again.
    expectOk(
      await scli(
        `--add_sds --sds_ip ${h4.ip} --device_path /dev/sdb --sds_name sds4 --protection_domain_name pd1 --storage_pool_name sp1`,
      ),
    );
    expectOk(await scli("--remove_sds --sds_name sds4"));
    await until(
      "sds4 gone again",
      () => scli("--query_all_sds"),
      (r) => r.code === 0 && !/sds4/.test(r.stdout),
    );
  });

  it("refuses to remove an SDS the others cannot replace, with the numbers", async () => {
    expectOk(
      await scli(
        "--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 56 --volume_name vol2",
      ),
    );
    expectFail(
      await scli("--remove_sds --sds_name sds3"),
      7,
      /^Error: MDM failed command\. {2}Status: Not enough capacity in Storage Pool sp1 to remove SDS sds3: its volumes need 120 GB, the other SDSs can hold 90 GB$/m,
    );
    expect(expectOk(await scli("--query_all_sds"))).toMatch(/Name: sds3 State: Connected/);
    expectOk(await scli("--remove_volume --volume_name vol2 --i_am_sure"));
  });

  it("rebuilds a stopped SDS's data on the others, then removes it", async () => {
    const t = Date.now();
    await stopService(h3, "sds");
    const lost = await until(
      "sds3 disconnected and degraded",
      () => scli("--query_all"),
      (r) => r.code === 0 && capacity(r.stdout, "degraded-healthy") !== "0 Bytes",
    );
    expect(lost.stdout).toMatch(/^ {4}1 SDS nodes have connection state 'Disconnected'$/m);
    expect(capacity(lost.stdout, "forward-rebuild")).not.toBe("0 Bytes");
    expect(expectOk(await scli("--query_sds --sds_name sds3"))).toMatch(
      /Connection-state: Disconnected/,
    );
    await until(
      "rebuild done",
      () => scli("--query_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
      (r) => r.code === 0 && capacity(r.stdout, "degraded-healthy") === "0 Bytes",
    );
    times.loseAndRebuild = Date.now() - t;
    expect(expectOk(await scli("--remove_sds --sds_name sds3"))).toMatch(/will be removed/);
    await until(
      "sds3 gone",
      () => scli("--query_all_sds"),
      (r) => r.code === 0 && /returned 2 SDS nodes/.test(r.stdout),
    );
    // Two SDSs are left for the two copies: neither can go now.
    expectFail(
      await scli("--remove_sds --sds_name sds2"),
      7,
      /would be left with 1 SDS\(s\); its 2 copies need 2 SDSs/,
    );
  });

  it("removes an SDC only without mappings; a stopped one shows Disconnected", async () => {
    await until(
      "the SDC on ed4",
      () => scli("--query_all_sdc"),
      (r) => r.stdout.includes(`IP: ${h4.ip} State: Connected`),
    );
    expectOk(await scli(`--map_volume_to_sdc --volume_name vol1 --sdc_ip ${h4.ip}`));
    expectFail(
      await scli(`--remove_sdc --sdc_ip ${h4.ip}`),
      7,
      new RegExp(
        `Status: SDC ${h4.ip.replace(/\./g, "\\.")} has 1 mapped volume\\(s\\) \\(vol1\\); unmap them first`,
      ),
    );
    expectOk(await scli(`--unmap_volume_from_sdc --volume_name vol1 --sdc_ip ${h4.ip}`));
    await stopService(h4, "scini");
    await until(
      "the SDC on ed4 disconnected",
      () => scli("--query_all_sdc"),
      (r) => r.stdout.includes(`IP: ${h4.ip} State: Disconnected`),
    );
    expect(expectOk(await scli(`--remove_sdc --sdc_ip ${h4.ip} --i_am_sure`))).toMatch(
      /^Successfully removed SDC /m,
    );
    expect(expectOk(await scli("--query_all_sdc"))).not.toContain(h4.ip);
  });

  it("goes 3 -> 5 -> 3 MDMs and refuses to remove members of the active cluster", async () => {
    expectOk(
      await scli(`--add_standby_mdm --new_mdm_ip ${h4.ip} --mdm_role manager --new_mdm_name m3`),
    );
    expectOk(await scli(`--add_standby_mdm --new_mdm_ip ${h5.ip} --mdm_role tb --new_mdm_name t2`));
    expectFail(
      await scli("--remove_standby_mdm --remove_mdm_name m2"),
      7,
      /Only a standby MDM can be removed; switch the cluster mode first/,
    );
    expectOk(
      await scli(
        "--switch_cluster_mode --cluster_mode 5_node --add_slave_mdm_name m3 --add_tb_name t2",
      ),
    );
    await until(
      "5 members up",
      () => scli("--query_cluster"),
      (r) => /Mode: 5_node, State: Normal, Active: 5\/5, Replicas: 3\/3/.test(r.stdout),
    );
    expectOk(
      await scli(
        "--switch_cluster_mode --cluster_mode 3_node --remove_slave_mdm_name m3 --remove_tb_name t2",
      ),
    );
    expectOk(await scli("--remove_standby_mdm --remove_mdm_name t2"));
    const c = expectOk(await scli("--query_cluster"));
    expect(c).toMatch(/Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2/);
    expect(c).toMatch(/Standby MDMs:\n {4}Name: m3, ID: 0x[0-9a-f]+, Manager\n/);
  });

  it("replaces a stopped slave MDM: Degraded, then the standby switched in, then Normal", async () => {
    await stopService(h2, "mdm");
    await until(
      "cluster degraded",
      () => scli(`--query_cluster ${mdms()}`),
      (r) => /State: Degraded, Active: 2\/3, Replicas: 1\/2/.test(r.stdout),
    );
    const t = Date.now();
    expectOk(
      await scli(
        "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name m3 --remove_slave_mdm_name m2",
      ),
    );
    expectOk(await scli("--remove_standby_mdm --remove_mdm_name m2"));
    const c = await until(
      "cluster normal",
      () => scli("--query_cluster"),
      (r) => /State: Normal, Active: 3\/3, Replicas: 2\/2/.test(r.stdout),
    );
    times.replaceSlave = Date.now() - t;
    expect(c.stdout).toMatch(/Slave MDMs:\n {4}Name: m3,/);
    expect(c.stdout).not.toMatch(/m2/);
  });
});
