// Issue 11 on lab hosts: what real users hit, run through the real installer over SSH.
// - SDS devices that are not empty (case 7: an ext4 /dev/vdb with a file on it; a mounted one)
//   are refused before anything changes, and erased only where wipeDevices allows it;
// - a tie-breaker installed as a manager is found before it joins and reported with the fix;
//   installed through a non-root sudo user (`centos`), the role survives sudo;
// - an rpm folder holding a vendor bundle's SLES/Ubuntu builds and GUI package installs;
// - multipathd gets a scini blacklist where it is installed, and nowhere else;
// - the gateway: enabled, every manager in its MDM list, answering after a reboot.
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import { labSh, requireRoot, startInstallLab, stopInstallLab } from "./fixtures";
import { InstallContext } from "../../src/install/context";
import { type LogLine } from "../../src/install/log";
import { rpmsFor, runInstall, runSelected } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import { setupDocker } from "../../src/install/stages/docker";
import { gatewayClient, mdmLoginWorks } from "../../src/install/stages/gateway";

const MDM_PASSWORD = "Lab-Mdm-Pw1";
const GATEWAY_PASSWORD = "Lab-Gw-Pw2";
requireRoot();

const PROPS = "/opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties";

describe("installer hardening on lab hosts (issue 11)", () => {
  let lab: Lab;
  let rpmDir: string;
  let tmp: string;
  let spec: InstallSpec;
  const logs: LogLine[] = [];
  const wipe = { node1: ["/dev/vdb"], node2: ["/dev/vdb"] };
  let node2Volume: { device: string; volumeName: string } | undefined;

  const install = (s: Partial<InstallSpec> = {}) =>
    runInstall({ ...spec, ...s }, { log: (l) => logs.push(l) });
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);
  const failure = async (s: Partial<InstallSpec> = {}) => {
    const e = await install(s).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    return (e as Error).message;
  };
  const notInstalled = async (host: string, pkg: string) =>
    (await lab.exec(host, `rpm -q ${pkg}`)).code !== 0;

  beforeAll(async () => {
    ({ lab, spec, tmp, rpmDir } = await startInstallLab({
      name: "cfg11",
      tmpPrefix: "ah-hardening-",
      clusterName: "hardening",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      // The tie-breaker through sudo: MDM_ROLE_IS_MANAGER must survive it. No LIA here.
      machine: (i) => ({
        sudo: i === 2,
        roles:
          i === 0 ? { mdm: "master", services: ["sds", "sdc", "gateway", "docker"] } : undefined,
      }),
    }));
    // As a vendor bundle unpacks (case 4): other distributions' builds and the GUI beside the set.
    fs.copyFileSync(
      path.join(rpmDir, "EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm"),
      path.join(rpmDir, "EMC-ScaleIO-sdc-3.6-700.103.sle12.2.x86_64.rpm"),
    );
    fs.writeFileSync(path.join(rpmDir, "EMC-ScaleIO-sdc-3.6-5014.0.Ubuntu.16.04.x86_64.deb"), "x");
    fs.writeFileSync(path.join(rpmDir, "EMC-ScaleIO-gui-3.6-700.103.noarch.rpm"), "x");
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
  });

  it("case 7: refuses an ext4 /dev/vdb holding a file, and a mounted one, before anything changes", async () => {
    await sh(
      "node2",
      "mkfs.ext4 -q -F /dev/vdb && mkdir -p /mnt/t && mount /dev/vdb /mnt/t && echo precious > /mnt/t/keep && umount /mnt/t",
    );
    await sh("node1", "mkfs.ext4 -q -F /dev/vdb && mkdir -p /mnt/t && mount /dev/vdb /mnt/t");
    const msg = await failure();
    expect(msg).toMatch(
      /\[node2\] HostPrep: SDS device \/dev\/vdb on node2 holds a ext4 signature \(UUID [0-9a-f-]+\); ScaleIO would overwrite it\. .*arrowhead:wipeDevices: \{node2: \[\/dev\/vdb\]\}.*Nothing was changed on any host\./,
    );
    expect(msg).toMatch(
      /\[node1\] HostPrep: SDS device \/dev\/vdb on node1 is mounted \(\/dev\/vdb on \/mnt\/t\).*Nothing was changed on any host\./,
    );
    // node3's devices are fine, yet it did not go on either.
    expect(msg).toMatch(
      /\[node3\] HostPrep: not started: the SDS devices of node1, node2 are refused \(see their errors\); nothing was changed on node3\./,
    );
    // Nothing was installed or wiped on any host; the file is still there.
    for (const h of ["node1", "node2", "node3"])
      expect(await notInstalled(h, "EMC-ScaleIO-mdm")).toBe(true);
    expect(logs.filter((l) => l.step.startsWith("HostPackages"))).toEqual([]);
    expect(await sh("node2", "mount /dev/vdb /mnt/t && cat /mnt/t/keep; umount /mnt/t")).toBe(
      "precious",
    );
    expect(await sh("node1", "findmnt -n -o TARGET /dev/vdb")).toBe("/mnt/t");
    // A mounted device is refused even where wipeDevices names it.
    expect(await failure({ wipeDevices: { node1: ["/dev/vdb"] } })).toMatch(
      /\[node1\] HostPrep: SDS device \/dev\/vdb on node1 is mounted .*wipeDevices does not cover a device in use/,
    );
    expect(await sh("node1", "findmnt -n -o TARGET /dev/vdb")).toBe("/mnt/t");
    await sh("node1", "umount /mnt/t");
  });

  it("a tie-breaker installed as a manager is found before it joins, with the fix; nothing joins", async () => {
    // node3's MDM installed in the manager role (as a run with other roles would have left it).
    // Every host's devices are checked whichever host a run works on; wipeDevices lets the
    // check pass, and a run for node3 alone erases nothing on node1 or node2.
    const swapped = spec.machines.map((m, i) =>
      i === 1
        ? { ...m, mdm: "tiebreaker" as const }
        : i === 2
          ? { ...m, mdm: "slave" as const }
          : m,
    );
    await runSelected(
      { ...spec, machines: swapped, wipeDevices: wipe },
      { stages: ["HostPrep", "HostPackages"], hosts: ["node3"] },
      { log: (l) => logs.push(l) },
    );
    expect(await sh("node3", "cat /opt/emc/scaleio/mdm/cfg/conf.txt")).toContain(
      "actor_role_is_manager=1",
    );
    for (const h of ["node1", "node2"])
      expect(await sh(h, "blkid -p -o value -s TYPE /dev/vdb")).toBe("ext4");
    const before = logs.length;
    const msg = await failure({ wipeDevices: wipe });
    expect(msg).toMatch(
      /^\[node3\] HostPackages: the MDM on node3 was installed as a manager \(MDM_ROLE_IS_MANAGER=1\) .*makes it the tiebreaker .*I_AM_SURE=1 rpm -e EMC-ScaleIO-mdm.*Nothing was added to the cluster\.$/,
    );
    // The cluster stage never ran: node3 was not half-joined, no cluster was even created.
    expect(logs.slice(before).filter((l) => l.step.startsWith("MdmCluster"))).toEqual([]);
    // wipeDevices let node1's and node2's prepare erase their ext4 (node1's is unmounted now).
    for (const h of ["node1", "node2"])
      expect((await lab.exec(h, "blkid -p /dev/vdb")).code).toBe(2);
    expect(
      logs
        .slice(before)
        .filter((l) =>
          /^erasing a ext4 signature on \/dev\/vdb \(wipeDevices allows it\)$/.test(l.text),
        )
        .map((l) => l.host)
        .sort(),
    ).toEqual(["node1", "node2"]);
  });

  it("after the fix the install completes; the TB keeps its role through sudo; multipath gets the blacklist where it runs", async () => {
    await sh("node3", "I_AM_SURE=1 rpm -e EMC-ScaleIO-mdm");
    // multipathd "installed and running" on node1 only (a stand-in that records its commands).
    await sh(
      "node1",
      [
        `printf '#!/bin/sh\\necho "$*" >> /var/tmp/multipathd.calls\\n' > /usr/sbin/multipathd`,
        `chmod 755 /usr/sbin/multipathd`,
        `printf '[Service]\\nExecStart=/bin/sleep infinity\\n' > /etc/systemd/system/multipathd.service`,
        `systemctl daemon-reload && systemctl start multipathd`,
      ].join(" && "),
    );
    const before = logs.length;
    const r = await install({ wipeDevices: wipe });
    expect(r.verification).toMatchObject({
      clusterMode: "3_node",
      clusterState: "Normal",
      gatewayLogin: true,
    });
    node2Volume = r.volumes.node2;
    // The notes about the bundle's other files, once per run.
    const notes = logs
      .slice(before)
      .filter((l) => /^ignoring /.test(l.text))
      .map((l) => l.text);
    expect(notes).toEqual([
      "ignoring 2 file(s) for another OS or distribution (the stack's OS centos7 uses el7): EMC-ScaleIO-sdc-3.6-5014.0.Ubuntu.16.04.x86_64.deb, EMC-ScaleIO-sdc-3.6-700.103.sle12.2.x86_64.rpm",
      "ignoring 1 package(s) of components this stack never installs (gui): EMC-ScaleIO-gui-3.6-700.103.noarch.rpm",
    ]);
    // node3 was installed over SSH as centos through sudo, as a tie-breaker.
    expect(spec.machines[2].sshUser).toBe("centos");
    expect(await sh("node3", "cat /opt/emc/scaleio/mdm/cfg/conf.txt")).toContain(
      "actor_role_is_manager=0",
    );
    const ips = spec.machines.map((m) => m.privateAddress);
    const cluster = await sh(
      "node1",
      `scli --login --username admin --password ${MDM_PASSWORD} --mdm_ip ${ips[0]},${ips[1]} --approve_certificate >/dev/null && scli --query_cluster --mdm_ip ${ips[0]},${ips[1]}`,
    );
    expect(cluster).toMatch(new RegExp(`Tie-?Breakers?:[\\s\\S]*${ips[2].replace(/\./g, "\\.")}`));
    // Multipath: the drop-in where multipathd exists, a reconfigure of the running one; none elsewhere.
    expect(await sh("node1", "cat /etc/multipath/conf.d/arrowhead-scaleio.conf")).toMatch(
      /^blacklist \{\n\s+devnode "\^scini\[a-z\]\*"\n\}$/m,
    );
    expect(await sh("node1", "cat /var/tmp/multipathd.calls")).toBe("reconfigure");
    for (const h of ["node2", "node3"])
      expect((await lab.exec(h, "test -e /etc/multipath/conf.d/arrowhead-scaleio.conf")).code).toBe(
        1,
      );
  });

  it("client side: a missing /dev/disk/by-id means not yet: the docker stage waits for it", async () => {
    const vol = node2Volume!;
    expect(vol.device).toMatch(/^\/dev\/disk\/by-id\/emc-vol-/);
    await sh("node2", "mv /dev/disk/by-id /run/by-id.saved");
    const ctx = new InstallContext(spec, rpmsFor(spec), { log: (l) => logs.push(l) });
    try {
      const started = Date.now();
      const done = setupDocker(ctx, "node2", vol);
      await new Promise((res) => setTimeout(res, 3000));
      // Still waiting (it would have failed at once on an error), then the directory comes back.
      expect(await Promise.race([done.then(() => "done"), Promise.resolve("waiting")])).toBe(
        "waiting",
      );
      await sh("node2", "mv /run/by-id.saved /dev/disk/by-id");
      const res = await done;
      expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
      expect(res.rootDir).toBe("/var/lib/docker");
      expect(ctx.changes).toEqual([]);
    } finally {
      ctx.close();
    }
  });

  it("the gateway: enabled, every manager in its MDM list, and it answers a login after a reboot", async () => {
    const ips = spec.machines.slice(0, 2).map((m) => m.privateAddress);
    // As a package that neither enables the service nor lists every manager would leave it.
    await sh(
      "node1",
      `sed -i 's/^mdm.ip.addresses=.*/mdm.ip.addresses=${ips[0]}/' ${PROPS} && systemctl disable scaleio-gateway && systemctl restart scaleio-gateway`,
    );
    const r = await install({ wipeDevices: wipe });
    const gw = r.changes.filter((c) => c.step === "Gateway").map((c) => c.command);
    expect(gw).toEqual([
      "systemctl enable scaleio-gateway",
      "POST /api/updateConfiguration",
      "POST /api/trustHostCertificate/Mdm",
    ]);
    expect(await sh("node1", `grep '^mdm.ip.addresses=' ${PROPS}`)).toBe(
      `mdm.ip.addresses=${ips.join(",")}`,
    );
    expect(await sh("node1", "systemctl is-enabled scaleio-gateway")).toBe("enabled");

    await lab.stop("node1");
    await lab.start("node1");
    const ctx = new InstallContext(spec, rpmsFor(spec), { log: (l) => logs.push(l) });
    try {
      const c = await gatewayClient(ctx, "node1", "reboot-check");
      let ok = false;
      // The master MDM was on node1: the login works once the managers have elected again.
      for (let i = 0; i < 60 && !ok; i++) {
        ok = await mdmLoginWorks(ctx, c).catch(() => false);
        if (!ok) await new Promise((res) => setTimeout(res, 2000));
      }
      expect(ok).toBe(true);
    } finally {
      ctx.close();
    }
    expect(await sh("node1", "systemctl is-active scaleio-gateway")).toBe("active");
    // With wipeDevices still set, a re-run erases nothing: the SDS devices hold no signature.
    const again = await install({ wipeDevices: wipe });
    expect(again.changes.filter((c) => /wipefs/.test(c.command))).toEqual([]);
    expect(again.changes.filter((c) => c.step === "Gateway")).toEqual([]);
  });
});
