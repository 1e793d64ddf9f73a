// The Docker volume driver "scaleio" (driver/) on three installed lab hosts with the emulator's
// packages: create with QoS, data that follows a container between hosts, limits on every new
// mapping, shared and `docker cp` mounts, a plugin restart, a takeover from a powered-off host
// and its refusal while that host is up, rm rules, and every bad option. Prints the timings.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import {
  importBusybox,
  labSh,
  requireRoot,
  startInstallLab,
  stopInstallLab,
  waitOn,
  PLUGIN_BIN as BIN,
  PLUGIN_CONFIG as CONFIG,
  PLUGIN_STATE as STATE,
  PLUGIN_MOUNTS as MOUNTS,
  PLUGIN_UNIT as UNIT,
  BUSYBOX_IMAGE as IMAGE,
} from "./fixtures";
import { runInstall } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";

const MDM_PASSWORD = "Dvol-Mdm-Pw1";
const GATEWAY_PASSWORD = "Dvol-Gw-Pw2";
const CLUSTER = "dvol";

requireRoot();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Docker volume driver scaleio on lab hosts", () => {
  let lab: Lab;
  let tmp: string;
  let gatewayIp: string;
  const times: Record<string, number> = {};
  const addr: Record<string, string> = {};

  const exec = (host: string, cmd: string) => lab.exec(host, cmd);
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  /** Runs cmd and returns its wall time in seconds. */
  const timed = async (host: string, cmd: string) => {
    const t = Date.now();
    await sh(host, cmd);
    return (Date.now() - t) / 1000;
  };
  const status = async (host: string, vol: string): Promise<Record<string, string>> =>
    JSON.parse(await sh(host, `docker volume inspect ${vol} --format '{{json .Status}}'`));
  /** The volume as the gateway reports it (GET /api/instances/Volume::<id>), asked from a host. */
  const gatewayVolume = async (host: string, id: string) => {
    const base = `https://${gatewayIp}:443`;
    const token = JSON.parse(
      await sh(host, `curl -skf -u admin:${MDM_PASSWORD} ${base}/api/login`),
    );
    return JSON.parse(
      await sh(host, `curl -skf -u :${token} ${base}/api/instances/Volume::${id}`),
    ) as {
      name: string;
      sizeInKb: number;
      mappedSdcInfo: null | { sdcIp: string; limitIops: number; limitBwInMbps: number }[];
    };
  };
  const mountedHere = async (host: string, sio: string) =>
    (await exec(host, `findmnt -n ${MOUNTS}/${sio}`)).code === 0;

  beforeAll(async () => {
    let spec: InstallSpec;
    ({ lab, spec, tmp } = await startInstallLab({
      name: "dvol",
      tmpPrefix: "ah-dvol-",
      clusterName: CLUSTER,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
    }));
    for (const h of lab.hosts) addr[h.name] = h.privateAddress;
    gatewayIp = lab.hosts[0].privateAddress;
    const t = Date.now();
    const res = await runInstall(spec, { log: () => {} });
    times.install = (Date.now() - t) / 1000;
    // The installer's volumeplugin stage built, installed, configured and started the plugin.
    expect(res.timings.VolumePlugin).toBeGreaterThan(0);
    for (const h of lab.hosts) await importBusybox(lab, h.name);
    for (const h of lab.hosts) {
      await waitOn(lab, h.name, "test -S /run/docker/plugins/scaleio.sock", 30);
      await sh(h.name, `${BIN} -config ${CONFIG} -check-config`);
    }
  });

  afterAll(async () => {
    if (lab) {
      // DVOL_DEBUG=<dir> keeps each host's plugin log there.
      const dir = process.env.DVOL_DEBUG;
      for (const h of dir ? lab.hosts : []) {
        const j = await exec(h.name, `journalctl -u ${UNIT} --no-pager`).catch(() => null);
        if (j) fs.writeFileSync(path.join(dir!, `dvol-${h.name}.log`), j.stdout);
        const dj = await exec(h.name, "journalctl -u docker --no-pager").catch(() => null);
        if (dj) fs.writeFileSync(path.join(dir!, `docker-${h.name}.log`), dj.stdout);
      }
    }
    await stopInstallLab(lab, tmp);
    console.log("volume driver timings (s):", JSON.stringify(times));
  });

  it("the plugin config is root-only and the unit is ordered before docker", async () => {
    expect(await sh("node1", `stat -c '%a %U' ${CONFIG}`)).toBe("600 root");
    expect(await sh("node1", `systemctl show -p Before ${UNIT}`)).toContain("docker.service");
    expect(await sh("node1", `systemctl is-active ${UNIT}`)).toBe("active");
    const log = await sh("node1", `journalctl -u ${UNIT} --no-pager`);
    expect(log).not.toContain(MDM_PASSWORD);
  });

  it("refuses every bad option at create, naming it and its allowed values", async () => {
    const cases: [string, RegExp][] = [
      [
        "-o iops=5",
        /option iops="5" is not valid: allowed values are 0 \(unlimited\) or a whole number >= 11/,
      ],
      ["-o iops=10", /option iops="10" is not valid/],
      [
        "-o bandwidthKBps=1000",
        /option bandwidthKBps="1000" is not valid: allowed values are 0 \(unlimited\) or a multiple of 1024/,
      ],
      ["-o fsType=btrfs", /option fsType="btrfs" is not valid: allowed values are xfs or ext4/],
      ["-o size=ten", /option size="ten" is not valid/],
      ["-o thin=maybe", /option thin="maybe" is not valid: allowed values are true or false/],
      ["-o mode=0999", /option mode="0999" is not valid/],
      [
        "-o colour=blue",
        /unknown option "colour": allowed options are bandwidthKBps, fsType, gid, iops, mode, pool, protectionDomain, size, snapshotOf, takeover, thin, uid/,
      ],
    ];
    for (const [opt, re] of cases) {
      const r = await exec("node1", `docker volume create -d scaleio ${opt} badvol`);
      expect(r.code, opt).not.toBe(0);
      expect(r.stderr, opt).toMatch(/VolumeDriver\.Create: /);
      expect(r.stderr, opt).toMatch(re);
    }
    const vols = await sh(
      "node1",
      "scli --login --username admin --password " +
        MDM_PASSWORD +
        " >/dev/null && scli --query_all_volumes",
    );
    expect(vols).not.toContain("dv-badvol");
  });

  it("creates data1 with size 10 and iops 500: 16 GB, idempotent from another host", async () => {
    times.createWithMkfs = await timed(
      "node1",
      "docker volume create -d scaleio -o size=10 -o iops=500 -o bandwidthKBps=2048 data1",
    );
    const st = await status("node1", "data1");
    expect(st).toMatchObject({
      size: "16 GB",
      scaleioName: "dv-data1",
      fsType: "xfs",
      mappedTo: "none",
    });
    const v = await gatewayVolume("node1", st.scaleioVolumeId);
    expect(v.name).toBe("dv-data1");
    expect(v.sizeInKb).toBe(16 * 1024 * 1024);
    expect(v.mappedSdcInfo ?? []).toEqual([]);
    // The same create from another host is a success and changes nothing.
    await sh("node2", "docker volume create -d scaleio -o size=10 -o iops=500 data1");
    expect((await status("node2", "data1")).scaleioVolumeId).toBe(st.scaleioVolumeId);
    expect(await sh("node3", "docker volume ls -q --filter driver=scaleio")).toContain("data1");
  });

  it("data written on host A is read on host B; the limits are set on each new mapping", async () => {
    const id = (await status("node1", "data1")).scaleioVolumeId;
    times.firstMount = await timed(
      "node1",
      `docker run -d --name writer --volume-driver scaleio -v data1:/data ${IMAGE} sh -c 'echo hello-from-node1 > /data/f; sleep 3600'`,
    );
    let v = await gatewayVolume("node1", id);
    expect(v.mappedSdcInfo).toEqual([
      expect.objectContaining({ sdcIp: addr.node1, limitIops: 500, limitBwInMbps: 2 }),
    ]);
    await sh("node1", "docker rm -f writer");
    expect(await mountedHere("node1", "dv-data1")).toBe(false);
    v = await gatewayVolume("node1", id);
    expect(v.mappedSdcInfo ?? []).toEqual([]);
    // B: a move (map, copy of the data, no mkfs, mount).
    times.moveToOtherHost = await timed(
      "node2",
      `docker run -d --name reader --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    expect(await sh("node2", "docker exec reader cat /data/f")).toBe("hello-from-node1");
    v = await gatewayVolume("node2", id);
    expect(v.mappedSdcInfo).toEqual([
      expect.objectContaining({ sdcIp: addr.node2, limitIops: 500, limitBwInMbps: 2 }),
    ]);
    expect((await status("node2", "data1")).qosOnMapping).toContain("iops=500");
    const log = await sh("node2", `journalctl -u ${UNIT} --no-pager`);
    expect(log).not.toMatch(/formatting volume.*data1/);
  });

  it("two containers share the volume: stopping one leaves it mounted for the other", async () => {
    await sh(
      "node2",
      `docker run -d --name second --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    await sh("node2", "docker rm -f reader");
    expect(await mountedHere("node2", "dv-data1")).toBe(true);
    expect(
      await sh(
        "node2",
        "docker exec second sh -c 'echo still-here > /data/g && cat /data/f /data/g'",
      ),
    ).toBe("hello-from-node1\nstill-here");
  });

  it("docker cp into a running container does not unmount the volume", async () => {
    await sh("node2", "echo copied-in > /tmp/cp.txt && docker cp /tmp/cp.txt second:/data/cp.txt");
    expect(await mountedHere("node2", "dv-data1")).toBe(true);
    expect(await sh("node2", "docker exec second cat /data/cp.txt")).toBe("copied-in");
    const state = JSON.parse(await sh("node2", `cat ${STATE}`));
    expect(state.volumes.data1.mounted).toBe(true);
  });

  it("a plugin restart while mounted keeps working and releases correctly later", async () => {
    const before = await sh("node2", `systemctl show -p MainPID --value ${UNIT}`);
    const started = await sh("node2", "docker inspect second --format '{{.State.StartedAt}}'");
    await sh("node2", `systemctl restart ${UNIT}`);
    expect(await sh("node2", `systemctl show -p MainPID --value ${UNIT}`)).not.toBe(before);
    for (
      let i = 0;
      i < 30 && (await exec("node2", "test -S /run/docker/plugins/scaleio.sock")).code;
      i++
    )
      await sleep(500);
    expect(await sh("node2", "docker inspect second --format '{{.State.StartedAt}}'")).toBe(
      started,
    );
    expect(await mountedHere("node2", "dv-data1")).toBe(true);
    expect(
      await sh("node2", "docker exec second sh -c 'echo after-restart > /data/h && cat /data/h'"),
    ).toBe("after-restart");
    // A third mount after the restart, then both go: the volume is released once, at the end.
    await sh(
      "node2",
      `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} cat /data/h`,
    );
    expect(await mountedHere("node2", "dv-data1")).toBe(true);
    await sh("node2", "docker rm -f second");
    expect(await mountedHere("node2", "dv-data1")).toBe(false);
    const id = (await status("node2", "data1")).scaleioVolumeId;
    expect((await gatewayVolume("node2", id)).mappedSdcInfo ?? []).toEqual([]);
  });

  it("a quick move there and back again finds the other host's writes", async () => {
    const run = (h: string, cmd: string) =>
      sh(h, `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} sh -c '${cmd}'`);
    await run("node1", "echo ping > /data/p");
    expect(await run("node2", "cat /data/p; echo pong > /data/p")).toBe("ping");
    expect(await run("node1", "cat /data/p")).toBe("pong");
  });

  it("a volume held by a host that is up is refused elsewhere, naming that host", async () => {
    times.remount = await timed(
      "node3",
      `docker run -d --name holder --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    expect(await sh("node3", "docker exec holder cat /data/h")).toBe("after-restart");
    const r = await exec(
      "node2",
      `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} true`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`the volume is mapped to host ${addr.node3}`);
    expect(r.stderr).toMatch(/VolumeDriver\.Mount: volume data1: refused/);
    // rm from another host is refused too, naming the holder.
    const rm = await exec("node1", "docker volume rm data1");
    expect(rm.code).not.toBe(0);
    expect(rm.stderr).toContain(`mapped to host ${addr.node3}`);
  });

  it("host crashed while holding the volume: taken over on another host; it reboots harmless", async () => {
    const id = (await status("node1", "data1")).scaleioVolumeId;
    // A crash: node3's plugin and SDC die without releasing anything (a clean power-off would
    // stop its containers first, and the plugin would release the volume). Docker on node3
    // goes down with the SDC (its /var/lib/docker is a ScaleIO volume); the host is then
    // power-cycled below.
    await sh("node3", `systemctl kill -s KILL ${UNIT} scini && systemctl stop ${UNIT} scini`);
    // The MDM sees its SDC disconnected after ~3.5 s.
    let sdcState = "";
    for (let i = 0; i < 30; i++) {
      const token = JSON.parse(
        await sh("node1", `curl -skf -u admin:${MDM_PASSWORD} https://${gatewayIp}/api/login`),
      );
      const sdcs = JSON.parse(
        await sh("node1", `curl -skf -u :${token} https://${gatewayIp}/api/types/Sdc/instances`),
      ) as { sdcIp: string; mdmConnectionState: string }[];
      sdcState = sdcs.find((s) => s.sdcIp === addr.node3)!.mdmConnectionState;
      if (sdcState === "Disconnected") break;
      await sleep(1000);
    }
    expect(sdcState).toBe("Disconnected");
    times.takeover = await timed(
      "node2",
      `docker run -d --name taker --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    // node3 only read: the newest copy still reachable has every write.
    expect(await sh("node2", "docker exec taker cat /data/f /data/h")).toBe(
      "hello-from-node1\nafter-restart",
    );
    expect(await sh("node2", `journalctl -u ${UNIT} --no-pager`)).toMatch(
      /taking volume over from another host.*disconnected from the MDM/,
    );
    let v = await gatewayVolume("node2", id);
    expect(v.mappedSdcInfo).toEqual([
      expect.objectContaining({ sdcIp: addr.node2, limitIops: 500 }),
    ]);
    // node3 boots again: its plugin drops the counts of the mount the crash took away and
    // does not map the volume back; the dead container's unmount is a no-op.
    await lab.stop("node3");
    await lab.start("node3");
    for (
      let i = 0;
      i < 90 &&
      (await exec("node3", `systemctl is-active ${UNIT} docker`)).stdout.trim() !==
        "active\nactive";
      i++
    )
      await sleep(1000);
    expect(await sh("node3", `journalctl -b -u ${UNIT} --no-pager`)).toMatch(
      /dropped mount counts of a volume that is no longer mounted.*volume=data1/,
    );
    await sh("node3", "docker rm -f holder");
    expect(await mountedHere("node3", "dv-data1")).toBe(false);
    v = await gatewayVolume("node2", id);
    expect(v.mappedSdcInfo).toEqual([expect.objectContaining({ sdcIp: addr.node2 })]);
    expect(await sh("node2", "docker exec taker cat /data/f")).toBe("hello-from-node1");
  });

  it("a takeover asked for on a host forces it from a host that is up", async () => {
    const r = await exec(
      "node1",
      `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} true`,
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`the volume is mapped to host ${addr.node2}`);
    // Docker never forwards -o takeover=true for an existing volume (it asks the driver's Get
    // first), so the request goes to the plugin directly.
    expect(await sh("node1", `${BIN} -takeover data1`)).toContain("takeover of data1 requested");
    expect(
      await sh(
        "node1",
        `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} cat /data/f`,
      ),
    ).toBe("hello-from-node1");
    expect(await sh("node1", `journalctl -u ${UNIT} --no-pager`)).toMatch(
      /taking volume over.*takeover requested/,
    );
    // One-shot: the next refusal is back.
    await sh("node2", "docker rm -f taker");
    await sh(
      "node2",
      `docker run -d --name taker --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    const again = await exec(
      "node1",
      `docker run --rm --volume-driver scaleio -v data1:/data ${IMAGE} true`,
    );
    expect(again.stderr).toContain(`the volume is mapped to host ${addr.node2}`);
    await sh("node2", "docker rm -f taker");
  });

  it("long and anonymous names get collision-free ScaleIO names of at most 31 characters", async () => {
    const long1 = "a-volume-name-that-is-much-longer-than-thirty-one-characters-1";
    const long2 = "a-volume-name-that-is-much-longer-than-thirty-one-characters-2";
    times.firstMountWithCreateAndMkfs = await timed(
      "node1",
      `docker run --rm --volume-driver scaleio -v ${long1}:/data ${IMAGE} sh -c 'echo one > /data/x'`,
    );
    await sh("node1", `docker volume create -d scaleio -o size=8 -o fsType=ext4 ${long2}`);
    const [s1, s2] = [await status("node1", long1), await status("node1", long2)];
    expect(s1.scaleioName.length).toBeLessThanOrEqual(31);
    expect(s2.scaleioName.length).toBeLessThanOrEqual(31);
    expect(s1.scaleioName).not.toBe(s2.scaleioName);
    expect(s1.name).toBe(long1);
    expect(s2.fsType).toBe("ext4");
    expect(
      await sh(
        "node2",
        `docker run --rm --volume-driver scaleio -v ${long1}:/data ${IMAGE} cat /data/x`,
      ),
    ).toBe("one");
    const anon = await sh(
      "node1",
      `docker run -d --volume-driver scaleio -v /data ${IMAGE} sleep 1`,
    );
    await sh("node1", `docker wait ${anon}`);
    const anonVol = await sh(
      "node1",
      `docker inspect ${anon} --format '{{range .Mounts}}{{.Name}}{{end}}'`,
    );
    expect(anonVol).toMatch(/^[0-9a-f]{64}$/);
    expect((await status("node1", anonVol)).scaleioName).toMatch(/^dv-[0-9a-f]{7}_[0-9a-f]{20}$/);
    await sh("node1", `docker rm ${anon} && docker volume rm ${anonVol} ${long1} ${long2}`);
  });

  it("docker volume rm is refused while in use, and after use removes the ScaleIO volume", async () => {
    const id = (await status("node1", "data1")).scaleioVolumeId;
    await sh(
      "node3",
      `docker run -d --name user --volume-driver scaleio -v data1:/data ${IMAGE} sleep 3600`,
    );
    const r = await exec("node1", "docker volume rm data1");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`volume data1 is mapped to host ${addr.node3}`);
    await sh("node3", "docker rm -f user");
    await sh("node1", "docker volume rm data1");
    const vols = await sh(
      "node1",
      "scli --login --username admin --password " +
        MDM_PASSWORD +
        " >/dev/null && scli --query_all_volumes",
    );
    expect(vols).not.toContain("dv-data1");
    const gone = await exec(
      "node1",
      `curl -sk -u :$(curl -skf -u admin:${MDM_PASSWORD} https://${gatewayIp}/api/login | tr -d '"') https://${gatewayIp}/api/instances/Volume::${id}`,
    );
    expect(JSON.parse(gone.stdout)).toMatchObject({ errorCode: 79 });
    expect(await sh("node2", "docker volume ls -q --filter driver=scaleio")).not.toMatch(
      /^data1$/m,
    );
  });
});
