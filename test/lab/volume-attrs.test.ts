// Storage attributes per Docker volume (issue 21) on three installed lab hosts with the
// emulator's packages: two pools of different media (sp1 HDD from the installer, "fast" SSD made
// here with scli on each host's second disk), a volume per pool and its inspect, an unknown pool,
// a create too large for its pool, a snapshot of a volume being written read on another host (and
// kept when its source is removed), online growth while a container writes, a token expired by
// the gateway mid-use, the gateway stopped and started, the plugin config without `insecure`, and
// a changed gateway certificate refused. Records the bench figures (bench/results.json).
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
  PLUGIN_UNIT as UNIT,
  BUSYBOX_IMAGE as IMAGE,
} from "./fixtures";
import { runInstall } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import { record } from "../../bench/report";

const MDM_PASSWORD = "Attr-Mdm-Pw1";
const GATEWAY_PASSWORD = "Attr-Gw-Pw2";
const CLUSTER = "daattrs";
const GATEWAY_UNIT = "scaleio-gateway";
const CERT_DIR = "/opt/emc/scaleio/gateway/conf/certificates";

requireRoot();

describe("per-volume storage attributes of the scaleio volume driver on lab hosts", () => {
  let lab: Lab;
  let tmp: string;
  let gatewayIp: string;

  const exec = (host: string, cmd: string) => lab.exec(host, cmd);
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  /** Runs cmd (must succeed) and returns its wall time in seconds. */
  const timed = async (host: string, cmd: string) => {
    const t = Date.now();
    await sh(host, cmd);
    return (Date.now() - t) / 1000;
  };
  const status = async (host: string, vol: string): Promise<Record<string, string>> =>
    JSON.parse(await sh(host, `docker volume inspect ${vol} --format '{{json .Status}}'`));
  const scli = (cmd: string) =>
    sh("node1", `scli --login --username admin --password ${MDM_PASSWORD} >/dev/null && ${cmd}`);
  const pluginPid = (host: string) => sh(host, `systemctl show -p MainPID --value ${UNIT}`);
  const run = (host: string, vol: string, cmd: string) =>
    sh(host, `docker run --rm --volume-driver scaleio -v ${vol}:/data ${IMAGE} sh -c '${cmd}'`);

  beforeAll(async () => {
    let spec: InstallSpec;
    ({ lab, spec, tmp } = await startInstallLab({
      name: CLUSTER,
      tmpPrefix: "ah-daattrs-",
      clusterName: CLUSTER,
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      dataDisks: { count: 2, sizeGb: 120 },
    }));
    gatewayIp = lab.hosts[0].privateAddress;
    // The installer builds sp1 (HDD) on each host's first disk; the second makes the SSD pool.
    spec = {
      ...spec,
      machines: spec.machines.map((m) => ({ ...m, dataDisks: m.dataDisks.slice(0, 1) })),
    };
    await runInstall(spec, { log: () => {} });
    await scli(
      "scli --add_storage_pool --protection_domain_name pd1 --storage_pool_name fast --media_type SSD",
    );
    for (const h of lab.hosts) {
      await scli(
        `scli --add_sds_device --sds_ip ${h.privateAddress} --device_path ${h.dataDisks[1]} --storage_pool_name fast`,
      );
    }
    for (const h of lab.hosts) {
      await importBusybox(lab, h.name);
      await waitOn(lab, h.name, "test -S /run/docker/plugins/scaleio.sock", 30);
    }
  });

  afterAll(async () => {
    // DAATTRS_DEBUG=<dir> keeps each host's plugin log and node1's gateway log there.
    const dir = process.env.DAATTRS_DEBUG;
    for (const h of dir && lab ? lab.hosts : []) {
      const units = h.name === "node1" ? [UNIT, GATEWAY_UNIT] : [UNIT];
      for (const u of units) {
        const j = await exec(h.name, `journalctl -u ${u} --no-pager`).catch(() => null);
        if (j) fs.writeFileSync(path.join(dir!, `${u}-${h.name}.log`), j.stdout);
      }
    }
    await stopInstallLab(lab, tmp);
  });

  it("the installer's plugin config verifies the gateway and has no `insecure`", async () => {
    const cfg = JSON.parse(await sh("node2", `cat ${CONFIG}`)) as Record<string, unknown>;
    expect(Object.keys(cfg)).not.toContain("insecure");
    // The emulator's gateway certificate does not name the private address, like a real
    // self-signed one: the installer pins it.
    expect(cfg.gatewayCertSha256).toMatch(/^[0-9a-f]{64}$/);
    await sh("node2", `${BIN} -config ${CONFIG} -check-config`);
  });

  it("a volume per pool: inspect shows pool, tier, thin/thick, QoS, size and where it is mapped", async () => {
    for (const [vol, opts, pool, tier, prov] of [
      ["hdd1", "-o size=8 -o iops=500", "sp1", "HDD", "thin"],
      ["ssd1", "-o pool=fast -o size=8 -o thin=false", "fast", "SSD", "thick"],
    ]) {
      const t = await timed("node1", `docker volume create -d scaleio ${opts} ${vol}`);
      const first = await timed(
        "node1",
        `docker run --rm --volume-driver scaleio -v ${vol}:/data ${IMAGE} sh -c 'echo ${vol} > /data/f'`,
      );
      record({
        name: `volume attrs: create + first mount, pool ${pool} (${tier})`,
        value: t + first,
        unit: "s",
        hosts: 3,
      });
      const s = await status("node2", vol);
      expect(s).toMatchObject({
        pool,
        protectionDomain: "pd1",
        tier,
        provisioning: prov,
        size: "8 GB",
        mappedTo: "none",
      });
      expect(s.snapshotOf).toBe("none (a volume of its own)");
    }
    await sh(
      "node1",
      `docker run -d --name holder --volume-driver scaleio -v hdd1:/data ${IMAGE} sleep 3600`,
    );
    const held = await status("node2", "hdd1");
    expect(held.mappedTo).toContain(lab.hosts[0].privateAddress);
    expect(held.qosOnMapping).toMatch(/iops=500/);
    await sh("node1", "docker rm -f holder");
  });

  it("an unknown pool and a create too large for its pool are refused, naming the pools and the numbers", async () => {
    const unknown = await exec("node2", "docker volume create -d scaleio -o pool=nosuch bad1");
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(
      'storage pool "nosuch" does not exist in protection domain "pd1": its pools are "fast", "sp1"',
    );
    const big = await exec(
      "node2",
      "docker volume create -d scaleio -o pool=fast -o size=100000 -o thin=false big1",
    );
    expect(big.code).not.toBe(0);
    expect(big.stderr).toMatch(
      /refused, nothing created: a 100000 GB thick volume does not fit storage pool "fast": it has \d+ GB available for new volumes \(capacityAvailableForVolumeAllocationInKb \d+\)/,
    );
    const vols = await scli("scli --query_all_volumes");
    expect(vols).not.toMatch(/dv-bad1|dv-big1/);
  });

  it("a snapshot of a volume being written is read on another host, and outlives its source", async () => {
    await sh("node1", "docker volume create -d scaleio -o size=8 src1");
    // Writes one numbered line every 50 ms, each synced, until stopped.
    await sh(
      "node1",
      `docker run -d --name writer --volume-driver scaleio -v src1:/data ${IMAGE} sh -c 'i=0; while true; do i=$((i+1)); echo $i >> /data/seq; sync; sleep 0.05; done'`,
    );
    await waitOn(
      lab,
      "node1",
      `test "$(docker exec writer sh -c 'wc -l < /data/seq' 2>/dev/null || echo 0)" -gt 40`,
      60,
    );
    const t = Date.now();
    await sh("node1", "docker volume create -d scaleio -o snapshotOf=src1 -o iops=200 snap1");
    const lines = (await run("node2", "snap1", "cat /data/seq")).split("\n");
    record({
      name: "volume attrs: snapshot of a written volume to read on another host",
      value: (Date.now() - t) / 1000,
      unit: "s",
      hosts: 3,
    });
    // Every line the snapshot holds is whole and in order: 1..n with n > 40.
    expect(lines.length).toBeGreaterThan(40);
    expect(lines).toEqual(lines.map((_, i) => String(i + 1)));
    const s = await status("node3", "snap1");
    expect(s.snapshotOf).toMatch(/^src1 \(ScaleIO volume dv-src1, id \w+\)$/);
    expect(s.pool).toBe("sp1");
    expect((await status("node3", "src1")).snapshots).toBe("snap1");
    await sh("node1", "docker rm -f writer");
    await sh("node1", "docker volume rm src1");
    expect(await run("node3", "snap1", "head -n 3 /data/seq")).toBe("1\n2\n3");
    expect((await status("node3", "snap1")).snapshotOf).toBe(
      "src1 (removed since: the snapshot is a volume of its own now)",
    );
  });

  it("grows a volume while a container writes to it; shrinking is refused", async () => {
    await sh("node2", "docker volume create -d scaleio -o size=8 grow1");
    await sh(
      "node2",
      `docker run -d --name grower --volume-driver scaleio -v grow1:/data ${IMAGE} sh -c 'while true; do date >> /data/log; sync; sleep 0.1; done'`,
    );
    const sizeKb = async () =>
      Number(await sh("node2", "docker exec grower df -Pk /data | awk 'END {print $2}'"));
    const before = await sizeKb();
    const t = Date.now();
    const out = await sh("node2", `${BIN} -resize grow1 20`);
    record({
      name: "volume attrs: resize of a mounted volume (8 -> 24 GB, xfs)",
      value: (Date.now() - t) / 1000,
      unit: "s",
      hosts: 3,
    });
    expect(out).toBe("grow1 grown from 8 GB to 24 GB; its xfs file system grown online");
    const after = await sizeKb();
    expect(before).toBeLessThan(8 * 1024 * 1024);
    expect(after).toBeGreaterThan(23 * 1024 * 1024);
    expect((await status("node1", "grow1")).size).toBe("24 GB");
    const shrink = await exec("node2", `${BIN} -resize grow1 8`);
    expect(shrink.code).toBe(1);
    expect(shrink.stderr).toContain("shrinking is refused: the volume has 24 GB");
    const elsewhere = await exec("node3", `${BIN} -resize grow1 32`);
    expect(elsewhere.stderr).toMatch(
      /is mapped to host .*: run `scaleio-volume-plugin -resize grow1 32` there/,
    );
    const lines = Number(await sh("node2", "docker exec grower sh -c 'wc -l < /data/log'"));
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      Number(await sh("node2", "docker exec grower sh -c 'wc -l < /data/log'")),
    ).toBeGreaterThan(lines);
    await sh("node2", "docker rm -f grower");
  });

  it("a token the gateway expired mid-use is renewed: no failed call, no plugin restart", async () => {
    const pid = await pluginPid("node3");
    const node3 = lab.hosts[2].privateAddress;
    const refused = async () =>
      Number(
        await sh(
          "node1",
          `journalctl -u ${GATEWAY_UNIT} --no-pager | grep -c '${node3} .* 401 ' || true`,
        ),
      );
    const refusedBefore = await refused();
    const before = await timed(
      "node3",
      `docker run --rm --volume-driver scaleio -v hdd1:/data ${IMAGE} cat /data/f`,
    );
    await sh("node1", `systemctl kill -s USR1 ${GATEWAY_UNIT}`);
    const after = await timed(
      "node3",
      `docker run --rm --volume-driver scaleio -v hdd1:/data ${IMAGE} cat /data/f`,
    );
    expect(await run("node3", "hdd1", "cat /data/f")).toBe("hdd1");
    expect(await pluginPid("node3")).toBe(pid);
    // The plugin's session was refused (401) and renewed, not merely unused.
    expect(await refused()).toBeGreaterThan(refusedBefore);
    record({
      name: "volume attrs: docker run with a volume just after a token expiry",
      value: after,
      unit: "s",
      comparison: { name: "the same run before the expiry", value: before, unit: "s" },
      hosts: 3,
    });
  });

  it("a stopped gateway gives each call a clear error in time; started again, the plugin works", async () => {
    const pid = await pluginPid("node2");
    await sh("node1", `systemctl stop ${GATEWAY_UNIT}`);
    try {
      const t = Date.now();
      const r = await exec("node2", "docker volume create -d scaleio down1");
      const took = (Date.now() - t) / 1000;
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/gateway unreachable/);
      expect(took).toBeLessThan(120); // Docker's own bound for Create: the plugin answers first
      const m = await exec(
        "node2",
        `docker run --rm --volume-driver scaleio -v hdd1:/data ${IMAGE} true`,
      );
      expect(m.code).not.toBe(0);
      expect(m.stderr).toMatch(/gateway unreachable/);
    } finally {
      await sh("node1", `systemctl start ${GATEWAY_UNIT}`);
    }
    await waitOn(lab, "node2", `curl -sk -o /dev/null https://${gatewayIp}/api/version`, 60);
    await sh("node2", "docker volume create -d scaleio -o size=8 up1");
    expect((await status("node2", "up1")).size).toBe("8 GB");
    expect(await pluginPid("node2")).toBe(pid);
  });

  it("a changed gateway certificate is refused with the steps to accept it", async () => {
    await sh("node1", `cp -p ${CERT_DIR}/gateway.crt ${CERT_DIR}/gateway.key /root/`);
    try {
      await sh(
        "node1",
        `openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=impostor -keyout ${CERT_DIR}/gateway.key -out ${CERT_DIR}/gateway.crt 2>/dev/null && systemctl restart ${GATEWAY_UNIT}`,
      );
      await waitOn(lab, "node2", `curl -sk -o /dev/null https://${gatewayIp}/api/version`, 60);
      // (docker volume inspect prints Docker's own "No such volume" when the driver's Get fails)
      const r = await exec("node2", "docker volume create -d scaleio cert1");
      expect(r.code).not.toBe(0);
      const text = r.stderr + r.stdout;
      expect(text).toMatch(
        /the gateway's certificate is not the pinned one: .* presented a certificate with sha256 [0-9a-f]{64}/,
      );
      expect(text).toContain("run `pulumi up` again");
      expect(text).toContain("systemctl restart scaleio-volume-plugin");
    } finally {
      await sh(
        "node1",
        `cp -p /root/gateway.crt /root/gateway.key ${CERT_DIR}/ && systemctl restart ${GATEWAY_UNIT}`,
      );
    }
    await waitOn(lab, "node2", `curl -sk -o /dev/null https://${gatewayIp}/api/version`, 60);
    expect((await status("node2", "hdd1")).pool).toBe("sp1");
  });
});
