// The membership stage (day 2) on a scripted runner with a small MDM of its own: a node leaving
// is refused before any change when the rest has no room (numbers in the error); otherwise its
// Docker is stopped, its volume unmapped, its SDS removed and waited for, its packages and then
// its SDC removed, in that order; a second run changes nothing; a node that does not answer is
// removed by the MDM alone.
import { afterEach, describe, expect, it, vi } from "vitest";
import { InstallContext } from "../../src/install/context";
import type { RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import { removeDeparted, roomInAllPools } from "../../src/install/stages/membership";
import type { Machine } from "../../src/machine";
import { fail, ok, ScriptedHosts } from "./support/scripted-hosts";

const node = (i: number, mdm?: Machine["mdm"]): Machine => ({
  name: `node${i}`,
  ...(mdm ? { mdm } : {}),
  services: ["sds", "sdc", "docker"],
  sshHost: "127.0.0.1",
  sshPort: 22,
  sshUser: "root",
  publicAddress: `10.0.0.${i}`,
  privateAddress: `10.0.0.${i}`,
  dataDisks: ["/dev/vdb"],
  os: "centos7",
});

/** An MDM's state as the queries print it (2.x layouts), and what the changes do to it. */
class FakeMdm {
  sds = new Map([1, 2, 3, 4].map((i) => [`10.0.0.${i}`, 100]));
  sdcs = new Set(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
  /** name -> [size GB, mapped SDC addresses] */
  volumes = new Map<string, [number, string[]]>([
    ["docker_node1", [16, ["10.0.0.1"]]],
    ["docker_node4", [16, ["10.0.0.4"]]],
    ["data1", [64, ["10.0.0.4"]]],
  ]);
  /** Polls an SDS removal takes before the SDS is gone (data moving). */
  removing = new Map<string, number>();

  answer(command: string) {
    const arg = (flag: string) => new RegExp(`${flag} (\\S+)`).exec(command)?.[1] ?? "";
    if (command.includes("--query_all_sds")) {
      for (const [ip, left] of this.removing)
        if (left <= 0) this.sds.delete(ip);
        else this.removing.set(ip, left - 1);
      const lines = [...this.sds.keys()].map(
        (ip, i) =>
          `SDS ID: 00${i} Name: ${ip} State: ${this.removing.has(ip) ? "Removing" : "Connected"}, Joined IP: ${ip} Port: 7072`,
      );
      return ok(`Protection Domain ade0 Name: pd1\n${lines.join("\n")}\n`);
    }
    if (command.includes("--query_sds")) {
      const ip = arg("--sds_ip");
      return ok(
        `SDS 0a Name: ${ip} Version: 3.6\nDevice information total 1 devices:\n` +
          `     1: Name: N/A  Path: /dev/vdb  Original-path: /dev/vdb  ID: d1\n` +
          `        Storage Pool: sp1, Capacity: ${this.sds.get(ip)}.0 GB State: Normal\n` +
          `Membership-state: Joined; Connection-state: Connected; SDS-state: ${this.removing.has(ip) ? "RemovalInProgress" : "Normal"}\n` +
          `    ${this.sds.get(ip)}.0 GB total capacity\n    ${this.removing.get(ip) ?? 24}.0 GB (1 MB) in-use capacity\n`,
      );
    }
    if (command.includes("--query_all_volumes")) {
      const v = [...this.volumes].map(
        ([n, [gb, m]]) =>
          ` Volume ID: ${n.length}aa Name: ${n} Size: ${gb}.0 GB (${gb * 1024} MB) ${m.length ? `Mapped to ${m.length} SDC` : "Unmapped"} Thick-provisioned`,
      );
      return ok(`Protection Domain ade0 Name: pd1\nStorage Pool f8 Name: sp1\n${v.join("\n")}\n`);
    }
    if (command.includes("--query_all_sdc"))
      return ok(
        [...this.sdcs]
          .map((ip, i) => `SDC ID: 0${i} Name: N/A IP: ${ip} State: Connected`)
          .join("\n"),
      );
    if (/--query_all(?!_)/.test(command))
      return ok("Storage Pool sp1 (Id: f8) has 3 volumes\n    Spare policy: 10% out of total\n");
    if (command.includes("--query_volume")) {
      const [, m] = this.volumes.get(arg("--volume_name"))!;
      return ok(m.map((ip) => `\t\tSDC ID: 01 IP: ${ip} Name: N/A`).join("\n"));
    }
    if (command.includes("--unmap_volume_from_sdc")) {
      const v = this.volumes.get(arg("--volume_name"))!;
      v[1] = v[1].filter((ip) => ip !== arg("--sdc_ip"));
      return ok("Successfully un-mapped volume");
    }
    if (command.includes("--remove_sds")) {
      this.removing.set(arg("--sds_ip"), 2);
      return ok("SDS will be removed");
    }
    if (command.includes("--remove_sdc")) {
      const ip = arg("--sdc_ip");
      if ([...this.volumes.values()].some(([, m]) => m.includes(ip)))
        return fail(7, "Error: MDM failed command.  Status: SDC has mapped volumes");
      this.sdcs.delete(ip);
      return ok("Successfully removed the SDC");
    }
    throw new Error(`unexpected scli command ${command}`);
  }
}

const rpms = {
  dialect: "2.x",
  packages: {
    sds: { name: "EMC-ScaleIO-sds" },
    sdc: { name: "EMC-ScaleIO-sdc" },
  },
} as unknown as RpmSet;

function setup(o: { dead?: boolean; node4Gb?: number } = {}) {
  const mdm = new FakeMdm();
  if (o.node4Gb) mdm.sds.set("10.0.0.4", o.node4Gb);
  const changes: string[] = [];
  let docker = true;
  let packages = true;
  const hosts = new ScriptedHosts((host, command) => {
    if (command.startsWith("scli ") || command.includes("| scli ")) {
      const r = mdm.answer(command);
      if (/--(remove|unmap)_/.test(command) && r.code === 0) changes.push(command.split(" ")[1]);
      return r;
    }
    if (host !== "node4") throw new Error(`unexpected command on ${host}: ${command}`);
    if (o.dead)
      throw new Error("[node4] could not connect over SSH to root@127.0.0.1:22 after 3 attempts");
    if (command === "true") return ok();
    if (command.startsWith("test -f")) return docker ? ok() : fail(1);
    if (command.startsWith("systemctl stop docker")) {
      docker = false;
      changes.push("docker-stop");
      return ok();
    }
    if (command.startsWith("ls -d")) return ok();
    if (command.startsWith("rpm -q"))
      return packages
        ? ok("EMC-ScaleIO-sdc 3.6\nEMC-ScaleIO-sds 3.6\n")
        : fail(
            1,
            "package EMC-ScaleIO-sdc is not installed\npackage EMC-ScaleIO-sds is not installed\n",
          );
    if (command.includes("rpm -e")) {
      packages = false;
      changes.push("rpm-e");
      return ok();
    }
    throw new Error(`unexpected command on node4: ${command}`);
  });
  const spec = {
    machines: [node(1, "master"), node(2, "slave"), node(3, "tiebreaker")],
    departing: [node(4)],
    protectionDomain: "pd1",
    storagePool: "sp1",
    mdmPassword: "Lab-Mdm-Pw1",
    gatewayPassword: "Gw-pass1",
    privateKey: "unused",
    adopted: true,
  } as InstallSpec;
  const logs: string[] = [];
  const ctx = new InstallContext(
    spec,
    rpms,
    { log: (l) => logs.push(`[${l.host}] ${l.text}`) },
    hosts,
  );
  ctx.scliLogins.set("node1", "60dda64f1574400f");
  return { mdm, ctx, changes, logs };
}

afterEach(() => vi.useRealTimers());

async function run(ctx: InstallContext): Promise<void> {
  vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
  const p = removeDeparted(ctx).catch((e: unknown) => e);
  for (let t = 0; t < 60_000; t += 1000) await vi.advanceTimersByTimeAsync(1000);
  const e = await p;
  if (e) throw e;
}

describe("a node leaving the cluster", () => {
  it("is refused before any change when the rest cannot hold the data, with the numbers", async () => {
    // node4 holds most of the raw capacity: 300 GB raw would stay of 3300 for 96 GB of volumes.
    const big = setup({ node4Gb: 3000 });
    big.mdm.sds.set("10.0.0.1", 50);
    big.mdm.sds.set("10.0.0.2", 50);
    big.mdm.sds.set("10.0.0.3", 50);
    await expect(run(big.ctx)).rejects.toThrow(
      /removing the SDS of node4 would leave storage pool sp1 without room for its data: the SDSs that stay \(node1, node2, node3\) hold 67\.5 GB usable \(two copies, 10% spare\), the pool's volumes take 96 GB\..*nothing was changed/,
    );
    expect(big.changes).toEqual([]);
  });

  it("goes in order: Docker, its volumes unmapped, SDS removed and waited for, packages, SDC", async () => {
    const { mdm, ctx, changes, logs } = setup();
    await run(ctx);
    expect(changes).toEqual([
      "docker-stop",
      "--unmap_volume_from_sdc",
      "--unmap_volume_from_sdc",
      "--remove_sds",
      "rpm-e",
      "--remove_sdc",
    ]);
    expect(mdm.sds.has("10.0.0.4")).toBe(false);
    expect(mdm.sdcs.has("10.0.0.4")).toBe(false);
    // The volumes stay (deleteVolumes is off).
    expect([...mdm.volumes.keys()]).toEqual(["docker_node1", "docker_node4", "data1"]);
    expect(logs).toEqual(
      expect.arrayContaining([
        "[node1] node4: 24 GB to move to node1, node2, node3 (135 GB usable there, 96 GB allocated)",
        "[node4] removing its SDS: ScaleIO moves its data (24 GB) first",
        expect.stringMatching(/^\[node4\] SDS RemovalInProgress: 1 GB left to move \(\d+ s\)$/),
        "[node4] node4 is out of the cluster",
      ]),
    );
    // Run again (a killed run's successor): nothing left to change.
    changes.length = 0;
    await run(ctx);
    expect(changes).toEqual([]);
  });

  it("a node that does not answer is removed by the MDM alone", async () => {
    const { mdm, ctx, changes, logs } = setup({ dead: true });
    await run(ctx);
    expect(changes).toEqual([
      "--unmap_volume_from_sdc",
      "--unmap_volume_from_sdc",
      "--remove_sds",
      "--remove_sdc",
    ]);
    expect(mdm.sdcs.has("10.0.0.4")).toBe(false);
    expect(logs).toEqual(
      expect.arrayContaining([expect.stringMatching(/^\[node4\] node4 does not answer/)]),
    );
  });
});

describe("room in every pool (storage tiers)", () => {
  const pool = (name: string, raw: number[], allocatedGb: number) => ({
    pool: name,
    spare: 0.1,
    rawGbBySds: Object.fromEntries(raw.map((gb, i) => [`10.0.0.${i + 1}`, gb])),
    allocatedGb,
  });
  it("the first pool without room decides; else the data to move is summed", () => {
    const hdd = pool("hdd", [100, 100, 100, 100], 96);
    const ssd = pool("ssd", [100, 100, 100, 100], 140);
    expect(roomInAllPools([hdd, ssd], ["10.0.0.4"])).toMatchObject({
      cap: { pool: "ssd" },
      room: { ok: false, usableAfterGb: 135, allocatedGb: 140 },
    });
    expect(roomInAllPools([hdd], ["10.0.0.4"])?.room).toMatchObject({ ok: true, moveGb: 48 });
    const small = pool("ssd", [10, 10, 10, 10], 8);
    expect(roomInAllPools([hdd, small], ["10.0.0.4"])?.room).toMatchObject({
      ok: true,
      moveGb: 52,
    });
    expect(roomInAllPools([hdd], ["10.9.9.9"])).toBeUndefined();
  });
});
