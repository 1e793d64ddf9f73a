// QoS you can see: the emulator's SDC holds a container to its volume mapping's IOPS and
// bandwidth limits (cgroup v1 blkio throttles on the volume's device, see
// test/emulator/python/scaleio_emu/qos.py). On one lab host, two containers write at the same
// time, each to its own ScaleIO volume made through the volume plugin, one with limits and one
// without; then a limit set and lifted through the gateway while a container holds the volume.
// Prints the figures and records them in bench/results.json.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import {
  importBusybox,
  labSh,
  requireRoot,
  startInstallLab,
  stopInstallLab,
  waitOn,
  BUSYBOX_IMAGE as IMAGE,
  PLUGIN_SOCKET,
} from "./fixtures";
import { record } from "../../bench/report";
import { runInstall } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";

const MDM_PASSWORD = "Qos-Mdm-Pw1";
const HOST = "node1";
/** The capped volume's limits (docker volume create -o iops / -o bandwidthKBps). */
const CAP_IOPS = 100;
const CAP_KBPS = 2048;
/** "Near its cap": at most this many times the limit (throttles let a first slice through). */
const NEAR = 1.5;
/** "Well above": the uncapped volume at least this many times the capped one's limit. */
const ABOVE = 3;

requireRoot();

/** One dd run inside a container: what it moved, in how long (from /proc/uptime, 10 ms). */
interface Run {
  ios: number;
  bytes: number;
  seconds: number;
}
const iops = (r: Run) => r.ios / r.seconds;
const kbps = (r: Run) => r.bytes / 1024 / r.seconds;

/**
 * A busybox sh script timing one direct-I/O dd: args are the block size (e.g. 4k) and count;
 * `write` reads /dev/zero into /data/f, `read` reads /data/f back. Prints "start end" uptimes.
 */
function ddScript(mode: "write" | "read"): string {
  const dd =
    mode === "write"
      ? "dd if=/dev/zero of=/data/f bs=$0 count=$1 oflag=direct"
      : "dd if=/data/f of=/dev/null bs=$0 count=$1 iflag=direct";
  return `'read a x </proc/uptime; ${dd} 2>/dev/null || exit 3; read b x </proc/uptime; echo $a $b'`;
}

function parseRun(out: string, count: number, blockBytes: number): Run {
  const m = /^(\d+\.\d+) (\d+\.\d+)$/.exec(out.trim());
  if (!m) throw new Error(`dd timing not understood: ${JSON.stringify(out)}`);
  const seconds = Math.max(Number(m[2]) - Number(m[1]), 0.01);
  return { ios: count, bytes: count * blockBytes, seconds };
}

const BLOCK = { "4k": 4096, "256k": 262144 } as const;
type Block = keyof typeof BLOCK;

describe("emulator QoS: the SDC holds a container to its mapping's limits", () => {
  let lab: Lab;
  let tmp: string;
  let gatewayIp: string;
  const figures: Record<string, number> = {};
  const sh = (cmd: string) => labSh(lab, HOST, cmd);

  /** Runs one dd in a new container per volume, all at once; the runs in the same order. */
  const together = async (
    jobs: { volume: string; mode: "write" | "read"; block: Block; count: number }[],
  ): Promise<Run[]> => {
    const ids: string[] = [];
    for (const j of jobs)
      ids.push(
        await sh(
          `docker run -d -v ${j.volume}:/data ${IMAGE} sh -c ${ddScript(j.mode)} ${j.block} ${j.count}`,
        ),
      );
    const runs: Run[] = [];
    for (const [i, id] of ids.entries()) {
      const code = await sh(`docker wait ${id}`);
      const out = await sh(`docker logs ${id}`);
      await sh(`docker rm ${id} >/dev/null`);
      expect(code, `${jobs[i].volume}: ${out}`).toBe("0");
      runs.push(parseRun(out, jobs[i].count, BLOCK[jobs[i].block]));
    }
    return runs;
  };

  /** One dd through `docker exec` in a running container (its cgroup, its mapping). */
  const inside = async (container: string, mode: "write" | "read", block: Block, n: number) =>
    parseRun(
      await sh(`docker exec ${container} sh -c ${ddScript(mode)} ${block} ${n}`),
      n,
      BLOCK[block],
    );

  /** A gateway call from the host, as the plugin makes it (login with the MDM user). */
  const gateway = async (method: "GET" | "POST", path: string, body?: object) => {
    const base = `https://${gatewayIp}:443`;
    const token = JSON.parse(await sh(`curl -skf -u admin:${MDM_PASSWORD} ${base}/api/login`));
    const data = body ? `-H 'Content-Type: application/json' -d '${JSON.stringify(body)}'` : "";
    const out = await sh(`curl -skf -X ${method} -u :${token} ${data} ${base}${path}`);
    return out ? JSON.parse(out) : null;
  };

  const volumeId = async (vol: string) =>
    sh(`docker volume inspect ${vol} --format '{{index .Status "scaleioVolumeId"}}'`);

  /** The volume's block device number as blkio writes it ("7:3"), while mapped here. */
  const devno = async (id: string) => {
    const [major, minor] = (await sh(`stat -L -c '%t %T' /dev/disk/by-id/emc-vol-*-${id}`))
      .split(" ")
      .map((h) => parseInt(h, 16));
    return `${major}:${minor}`;
  };

  /** The write-IOPS rule for a device in one container's blkio cgroup (0: none). */
  const ruleIn = async (container: string, dev: string) => {
    const full = await sh(`docker inspect -f '{{.Id}}' ${container}`);
    const file = `/sys/fs/cgroup/blkio/docker/${full}/blkio.throttle.write_iops_device`;
    const line = (await sh(`cat ${file}`)).split("\n").find((l) => l.startsWith(`${dev} `));
    return line ? Number(line.split(" ")[1]) : 0;
  };

  /**
   * setMappedSdcLimits for the volume's mapping here; returns the call's seconds (login
   * included). The MDM pushes the limits to the SDC, so they hold when the call returns.
   */
  const setLimits = async (id: string, limits: { iopsLimit: string }) => {
    const vol = await gateway("GET", `/api/instances/Volume::${id}`);
    const sdcId = vol.mappedSdcInfo[0].sdcId as string;
    const t = Date.now();
    await gateway("POST", `/api/instances/Volume::${id}/action/setMappedSdcLimits`, {
      sdcId,
      ...limits,
    });
    return (Date.now() - t) / 1000;
  };

  beforeAll(async () => {
    let spec: InstallSpec;
    ({ lab, spec, tmp } = await startInstallLab({
      name: "qsqos",
      tmpPrefix: "ah-qs-",
      clusterName: "qos",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: "Qos-Gw-Pw2",
    }));
    gatewayIp = lab.hosts[0].privateAddress;
    await runInstall(spec, { log: () => {} });
    await importBusybox(lab, HOST);
    await waitOn(lab, HOST, `test -S ${PLUGIN_SOCKET}`, 30);
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
    console.log("emulator QoS figures:", JSON.stringify(figures));
  });

  it("creates a capped and an uncapped volume through the plugin", async () => {
    await sh(
      `docker volume create -d scaleio -o iops=${CAP_IOPS} -o bandwidthKBps=${CAP_KBPS} qscapped`,
    );
    await sh("docker volume create -d scaleio qsfree");
    const status = JSON.parse(
      await sh("docker volume inspect qscapped --format '{{json .Status}}'"),
    );
    expect(status.qos).toContain(`iops=${CAP_IOPS}`);
  });

  it("two containers at once: the capped one stays near its IOPS cap, the other well above", async () => {
    const [capped, free] = await together([
      { volume: "qscapped", mode: "write", block: "4k", count: 3 * CAP_IOPS },
      { volume: "qsfree", mode: "write", block: "4k", count: 30 * CAP_IOPS },
    ]);
    figures.cappedWriteIops = Math.round(iops(capped));
    figures.uncappedWriteIops = Math.round(iops(free));
    console.log(
      `4 KiB direct writes: capped (iops=${CAP_IOPS}) ${iops(capped).toFixed(0)} IOPS in ` +
        `${capped.seconds.toFixed(2)} s; uncapped ${iops(free).toFixed(0)} IOPS`,
    );
    expect(iops(capped)).toBeLessThanOrEqual(NEAR * CAP_IOPS);
    expect(iops(free)).toBeGreaterThanOrEqual(ABOVE * CAP_IOPS);
  });

  it("reads are held too: direct 4 KiB reads of the files just written", async () => {
    const [capped, free] = await together([
      { volume: "qscapped", mode: "read", block: "4k", count: 3 * CAP_IOPS },
      { volume: "qsfree", mode: "read", block: "4k", count: 30 * CAP_IOPS },
    ]);
    figures.cappedReadIops = Math.round(iops(capped));
    figures.uncappedReadIops = Math.round(iops(free));
    console.log(
      `4 KiB direct reads: capped ${iops(capped).toFixed(0)} IOPS; uncapped ${iops(free).toFixed(0)} IOPS`,
    );
    expect(iops(capped)).toBeLessThanOrEqual(NEAR * CAP_IOPS);
    expect(iops(free)).toBeGreaterThanOrEqual(ABOVE * CAP_IOPS);
  });

  it("bandwidth: 256 KiB writes, capped near its KB/s, uncapped well above", async () => {
    // 8 blocks a second at the cap: the IOPS limit (100) does not bind, the bandwidth one does.
    const perSecond = CAP_KBPS / 256;
    const [capped, free] = await together([
      { volume: "qscapped", mode: "write", block: "256k", count: 2 * perSecond },
      { volume: "qsfree", mode: "write", block: "256k", count: 20 * perSecond },
    ]);
    figures.cappedWriteKBps = Math.round(kbps(capped));
    figures.uncappedWriteKBps = Math.round(kbps(free));
    console.log(
      `256 KiB direct writes: capped (bandwidthKBps=${CAP_KBPS}) ${kbps(capped).toFixed(0)} KB/s; ` +
        `uncapped ${kbps(free).toFixed(0)} KB/s`,
    );
    expect(kbps(capped)).toBeLessThanOrEqual(NEAR * CAP_KBPS);
    expect(kbps(free)).toBeGreaterThanOrEqual(ABOVE * CAP_KBPS);
    record({
      name: "emulator QoS: capped volume, 4 KiB direct writes (iops=100)",
      value: figures.cappedWriteIops,
      unit: "IOPS",
      hosts: 3,
    });
    record({
      name: "emulator QoS: uncapped volume beside it, 4 KiB direct writes",
      value: figures.uncappedWriteIops,
      unit: "IOPS",
      hosts: 3,
    });
    record({
      name: "emulator QoS: capped volume, 256 KiB direct writes (bandwidthKBps=2048)",
      value: figures.cappedWriteKBps,
      unit: "KB/s",
      hosts: 3,
    });
    record({
      name: "emulator QoS: uncapped volume beside it, 256 KiB direct writes",
      value: figures.uncappedWriteKBps,
      unit: "KB/s",
      hosts: 3,
    });
  });

  it("a limit set while mapped is in force when the call returns, and a lifted one lifts", async () => {
    await sh(`docker run -d --name qshold -v qsfree:/data ${IMAGE} sleep 600`);
    const id = await volumeId("qsfree");
    const dev = await devno(id);
    expect(iops(await inside("qshold", "write", "4k", 30 * CAP_IOPS))).toBeGreaterThanOrEqual(
      ABOVE * CAP_IOPS,
    );

    figures.setAppliedSeconds = await setLimits(id, { iopsLimit: String(CAP_IOPS) });
    expect(await ruleIn("qshold", dev)).toBe(CAP_IOPS);
    const held = await inside("qshold", "write", "4k", 3 * CAP_IOPS);
    expect(iops(held)).toBeLessThanOrEqual(NEAR * CAP_IOPS);

    figures.liftAppliedSeconds = await setLimits(id, { iopsLimit: "0" });
    expect(await ruleIn("qshold", dev)).toBe(0);
    const lifted = await inside("qshold", "write", "4k", 30 * CAP_IOPS);
    expect(iops(lifted)).toBeGreaterThanOrEqual(ABOVE * CAP_IOPS);
    figures.setThenHeldIops = Math.round(iops(held));
    figures.liftedIops = Math.round(iops(lifted));
    console.log(
      `set while mapped: in force when the call returned (${figures.setAppliedSeconds} s), ` +
        `${figures.setThenHeldIops} IOPS; lifted (${figures.liftAppliedSeconds} s), ` +
        `${figures.liftedIops} IOPS`,
    );
    record({
      name: "emulator QoS: setMappedSdcLimits (login + call) until in force in the container",
      value: figures.setAppliedSeconds,
      unit: "s",
      hosts: 3,
    });
  });

  it("unmapping the volume removes its device's rules from every cgroup of the host", async () => {
    const id = await volumeId("qsfree");
    const dev = await devno(id);
    await setLimits(id, { iopsLimit: "500" });
    expect(await ruleIn("qshold", dev)).toBe(500);
    await sh("docker rm -f qshold >/dev/null");
    // The plugin unmaps at the last unmount; the SDC drops the device at its next sync.
    await waitOn(lab, HOST, `! ls /dev/disk/by-id/emc-vol-*-${id} >/dev/null 2>&1`, 60);
    const left = await sh(
      `grep -rl '^${dev} ' /sys/fs/cgroup/blkio --include='blkio.throttle.*_device' || true`,
    );
    expect(left).toBe("");
    expect((await gateway("GET", `/api/instances/Volume::${id}`)).mappedSdcInfo).toBeNull();
  });
});
