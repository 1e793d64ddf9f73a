// The installer's volumeplugin stage (issue 12) on three lab hosts with the emulator's packages:
// the plugin is installed by the installer alone (no hand install), runs before Docker with a
// root-only config, serves `docker volume create -d scaleio`, a second install changes nothing
// (no restart), a changed binary on one host is replaced and restarted there only, and the
// removal (delete on adopted hosts) waits for containers to let go of their volumes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import {
  importBusybox,
  labSh,
  requireRoot,
  startInstallLab,
  stopInstallLab,
  PLUGIN_BIN as BIN,
  PLUGIN_CONFIG as CONFIG,
  PLUGIN_UNIT as UNIT,
  PLUGIN_SOCKET as SOCKET,
} from "./fixtures";
import type { LogLine } from "../../src/install/log";
import { runInstall, runUninstall, type InstallResult } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";

const MDM_PASSWORD = 'Vp"Mdm\\Pw1';
const GATEWAY_PASSWORD = "Vp-Gw-Pw2";

requireRoot();

describe("volume plugin installed by the installer", () => {
  let lab: Lab;
  let tmp: string;
  let spec: InstallSpec;
  const logs: LogLine[] = [];
  const times: Record<string, number> = {};

  const install = (): Promise<InstallResult> => runInstall(spec, { log: (l) => logs.push(l) });
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  const mainPid = (host: string) => sh(host, `systemctl show -p MainPID --value ${UNIT}`);

  beforeAll(async () => {
    // One host through sudo: the upload, the root-only files and the secret on stdin both ways.
    ({ lab, spec, tmp } = await startInstallLab({
      name: "vplugin",
      tmpPrefix: "ah-vplugin-",
      clusterName: "vplugin",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      machine: (i) => ({ sudo: i === 1 }),
    }));
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
    console.log("volume plugin install timings (s):", JSON.stringify(times));
  });

  it("installs, starts and verifies the plugin on every Docker host", async () => {
    const t = Date.now();
    const r = await install();
    times.install = (Date.now() - t) / 1000;
    times.volumepluginStage = (r.timings.VolumePlugin ?? 0) / 1000;
    expect(r.timings.VolumePlugin).toBeGreaterThan(0);
    for (const h of lab.hosts) {
      expect(await sh(h.name, `systemctl is-active ${UNIT}`)).toBe("active");
      expect(await sh(h.name, `systemctl is-enabled ${UNIT}`)).toBe("enabled");
      expect(await sh(h.name, `test -S ${SOCKET} && echo yes`)).toBe("yes");
      expect(await sh(h.name, `stat -c '%a %U' ${CONFIG} /etc/scaleio-volume-plugin`)).toBe(
        "600 root\n700 root",
      );
      expect(await sh(h.name, `systemctl show -p Before --value ${UNIT}`)).toContain(
        "docker.service",
      );
      const config = JSON.parse(await sh(h.name, `cat ${CONFIG}`)) as Record<string, unknown>;
      expect(config).toMatchObject({
        gateway: `https://${lab.hosts[0].privateAddress}:443`,
        user: "admin",
        password: MDM_PASSWORD,
        system: "vplugin",
        protectionDomain: "pd1",
        storagePool: "sp1",
      });
      await sh(h.name, `${BIN} -config ${CONFIG} -check-config`);
    }
    // The password (with a quote and a backslash) never reached a log line.
    expect(logs.filter((l) => l.text.includes(MDM_PASSWORD))).toEqual([]);
  });

  it("serves docker volume create -d scaleio", async () => {
    const t = Date.now();
    await sh("node2", "docker volume create -d scaleio -o size=8 v1");
    times.volumeCreate = (Date.now() - t) / 1000;
    const st = JSON.parse(
      await sh("node3", "docker volume inspect v1 --format '{{json .Status}}'"),
    ) as Record<string, unknown>;
    expect(JSON.stringify(st)).toMatch(/8/);
    await sh("node2", "docker volume rm v1");
  });

  it("a second install changes nothing and restarts nothing", async () => {
    const pids = await Promise.all(lab.hosts.map((h) => mainPid(h.name)));
    const t = Date.now();
    const r = await install();
    times.noopInstall = (Date.now() - t) / 1000;
    expect(r.changes).toEqual([]);
    expect(await Promise.all(lab.hosts.map((h) => mainPid(h.name)))).toEqual(pids);
  });

  it("a changed binary on one host is replaced and restarted there only", async () => {
    await sh(
      "node3",
      `cp ${BIN} /tmp/p && printf 'x' >> /tmp/p && mv -f /tmp/p ${BIN} && systemctl restart ${UNIT}`,
    );
    const pids = await Promise.all(lab.hosts.map((h) => mainPid(h.name)));
    const r = await install();
    expect([...new Set(r.changes.map((c) => c.host))]).toEqual(["node3"]);
    expect(r.changes.map((c) => c.step)).toEqual(["VolumePlugin", "VolumePlugin"]);
    const after = await Promise.all(lab.hosts.map((h) => mainPid(h.name)));
    expect(after.slice(0, 2)).toEqual(pids.slice(0, 2));
    expect(after[2]).not.toBe(pids[2]);
    expect(await sh("node3", `test -S ${SOCKET} && systemctl is-active ${UNIT}`)).toBe("active");
  });

  it("removal is refused while a container uses a plugin volume, then removes unit, binary and config", async () => {
    await importBusybox(lab, "node2");
    await sh("node2", "docker volume create -d scaleio -o size=8 held");
    await sh(
      "node2",
      "docker run -d --name holder --volume-driver scaleio -v held:/data lab/busybox sleep 3600",
    );
    const err = await runUninstall(spec, ["node2"], "VolumePlugin", { log: () => {} }).catch(
      (e: Error) => e,
    );
    expect(String(err)).toMatch(
      /\[node2\] remove: the volume plugin still has 1 volume\(s\) mounted .*Stop those containers/,
    );
    expect(await sh("node2", `systemctl is-active ${UNIT}`)).toBe("active");
    await sh("node2", "docker rm -f holder && docker volume rm held");
    const changes = await runUninstall(spec, ["node2"], "VolumePlugin", { log: () => {} });
    expect(changes.map((c) => c.host)).toEqual(["node2"]);
    expect(
      await sh(
        "node2",
        `ls ${BIN} ${CONFIG} /etc/systemd/system/${UNIT}.service 2>&1 | grep -c 'No such' || true`,
      ),
    ).toBe("3");
    expect((await lab.exec("node2", `systemctl is-active ${UNIT}`)).stdout.trim()).not.toBe(
      "active",
    );
    // Removed twice: nothing left to do.
    expect(await runUninstall(spec, ["node2"], "VolumePlugin", { log: () => {} })).toEqual([]);
    // The next install puts it back on that host only.
    const r = await install();
    expect([...new Set(r.changes.map((c) => c.host))]).toEqual(["node2"]);
    expect(await sh("node2", `systemctl is-active ${UNIT}`)).toBe("active");
  });
});
