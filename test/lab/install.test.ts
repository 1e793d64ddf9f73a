// The installer end to end on three lab hosts with the emulator's packages: a full install
// (interrupted at several points, one of them a real SIGKILL, and re-run), the result checked
// from inside the hosts, a no-op re-run, every bad input, and adding a fourth node.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab } from "./hosts";
import { importBusybox, labSh, requireRoot, startInstallLab, stopInstallLab } from "./fixtures";
import { labMachine } from "./spec";
import { runInstall, type InstallResult } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import { nullSink, Redactor, stepLog, type LogLine } from "../../src/install/log";
import { SshSession } from "../../src/install/ssh";
import { stageFiles, STAGING_ROOT } from "../../src/install/upload";
import { generateHostKey } from "../../src/ssh-keygen";

const REPO = path.resolve(__dirname, "..", "..");
const MDM_PASSWORD = "Lab-Mdm-Pw1";
const GATEWAY_PASSWORD = "Lab-Gw-Pw2";

requireRoot();

describe("installer on lab hosts", () => {
  let lab: Lab;
  let rpmDir: string;
  let tmp: string;
  let spec: InstallSpec;
  const logs: LogLine[] = [];
  const times: Record<string, number> = {};

  const install = (
    s: Partial<InstallSpec> = {},
    beforeStep?: (h: string, st: string) => void,
  ): Promise<InstallResult> =>
    runInstall({ ...spec, ...s }, { log: (l) => logs.push(l), beforeStep });
  const sh = (host: string, cmd: string) => labSh(lab, host, cmd);

  beforeAll(async () => {
    // One host through sudo, the others as root: both paths are exercised.
    ({ lab, spec, tmp, rpmDir } = await startInstallLab({
      name: "itest",
      tmpPrefix: "ah-install-",
      clusterName: "itest",
      mdmPassword: MDM_PASSWORD,
      gatewayPassword: GATEWAY_PASSWORD,
      machine: (i) => ({ sudo: i === 1 }),
    }));
  });

  afterAll(async () => {
    await stopInstallLab(lab, tmp);
    console.log("install timings (s):", JSON.stringify(times));
  });

  it("survives a SIGKILL mid-install", async () => {
    // A real process kill while the MDM cluster is being formed, then the hook-driven aborts below.
    const child = spawn(
      "npx",
      [
        "tsx",
        "-e",
        `const { runInstall } = require(${JSON.stringify(path.join(REPO, "src/install/runner"))});
         let data = ""; process.stdin.on("data", (d) => (data += d)).on("end", () => {
           runInstall(JSON.parse(data), { log: (l) => console.log(l.host + " " + l.step + " " + l.text) })
             .then(() => console.log("DONE"), (e) => { console.log("FAILED " + e.message); process.exit(1); });
         });`,
      ],
      { cwd: REPO, stdio: ["pipe", "pipe", "inherit"], detached: true },
    );
    child.stdin.end(JSON.stringify(spec));
    let out = "";
    const killedAt = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (/--add_standby_mdm/.test(out)) {
          // npx runs node as a child: kill the whole process group, as a crash would.
          process.kill(-child.pid!, "SIGKILL");
          resolve("add_standby_mdm");
        }
      });
      child.on("exit", () =>
        reject(new Error(`installer exited before the kill point:\n${out.slice(-2000)}`)),
      );
    });
    expect(killedAt).toBe("add_standby_mdm");
    expect(out).not.toContain("DONE");
  });

  it("is interrupted at several steps and each re-run goes further, then completes", async () => {
    const points: [string, string][] = [
      ["node1", "MdmCluster:switch"],
      ["node1", "storage:sds-node2"],
      ["node3", "volume"],
      ["node2", "DockerVolume:mkfs"],
      ["node1", "DockerVolume:install"],
    ];
    for (const [host, step] of points) {
      const err = await install({}, (h, st) => {
        if (h === host && st === step) throw new Error(`simulated crash at ${host} ${step}`);
      }).catch((e: Error) => e);
      // A point already passed by an earlier partial run is fine: then the run completes.
      if (err instanceof Error) expect(err.message).toContain(`simulated crash at ${host} ${step}`);
    }
    const t = Date.now();
    const r = await install();
    times.finishAfterInterruptions = (Date.now() - t) / 1000;
    expect(r.verification).toMatchObject({
      clusterMode: "3_node",
      clusterState: "Normal",
      gatewayLogin: true,
    });
  });

  it("a second run changes nothing", async () => {
    const t = Date.now();
    const r = await install();
    times.noopRerun = (Date.now() - t) / 1000;
    expect(r.changes).toEqual([]);
    expect(r.cluster).toMatchObject({ mode: "3_node", state: "Normal" });
    expect(Object.keys(r.verification!.docker).sort()).toEqual(["node1", "node2", "node3"]);
  });

  it("the cluster is 3_node Normal and the gateway accepts a login (seen from the hosts)", async () => {
    const q = await sh(
      "node2",
      `scli --login --username admin --password ${MDM_PASSWORD} --mdm_ip ${spec.machines[0].privateAddress},${spec.machines[1].privateAddress} --approve_certificate >/dev/null && scli --query_cluster --mdm_ip ${spec.machines[0].privateAddress},${spec.machines[1].privateAddress}`,
    );
    expect(q).toMatch(/Mode: 3_node, State: Normal, Active: 3\/3/);
    const props = await sh(
      "node1",
      "cat /opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties",
    );
    expect(props).toContain(
      `mdm.ip.addresses=${spec.machines[0].privateAddress},${spec.machines[1].privateAddress}`,
    );
    expect(props).not.toContain(GATEWAY_PASSWORD);
  });

  it("each Docker host keeps container data on its own ScaleIO volume, across remount and reboot", async () => {
    for (const h of ["node1", "node2", "node3"]) {
      const unit = await sh(h, "cat /etc/systemd/system/var-lib-docker.mount");
      expect(unit).toMatch(/^What=\/dev\/disk\/by-id\/emc-vol-[0-9a-f]+-[0-9a-f]+$/m);
      const what = /^What=(.*)$/m.exec(unit)![1];
      await importBusybox(lab, h);
      await sh(
        h,
        `docker run --rm -v keep:/data lab/busybox sh -c 'echo written-on-${h} > /data/proof'`,
      );
      // Unmount, look at the volume's filesystem directly, mount back.
      await sh(h, "systemctl stop docker docker.socket; systemctl stop var-lib-docker.mount");
      expect(await sh(h, "findmnt -n /var/lib/docker || echo unmounted")).toBe("unmounted");
      const seen = await sh(
        h,
        `mkdir -p /mnt/check && mount ${what} /mnt/check && cat /mnt/check/volumes/keep/_data/proof; umount /mnt/check`,
      );
      expect(seen).toBe(`written-on-${h}`);
      await sh(h, "systemctl start docker");
      expect(await sh(h, "findmnt -n -o SOURCE /var/lib/docker")).toMatch(/scini/);
    }
    await lab.stop("node3");
    await lab.start("node3");
    // After boot the SDC first has to get its volumes from the MDM: the wait unit holds the
    // mount (and Docker) until the device appears.
    let after = "";
    for (let i = 0; i < 90; i++) {
      after = (
        await lab.exec("node3", "systemctl is-active var-lib-docker.mount docker")
      ).stdout.trim();
      if (after === "active\nactive") break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    expect(after.split("\n")).toEqual(["active", "active"]);
    expect(await sh("node3", "docker run --rm -v keep:/data lab/busybox cat /data/proof")).toBe(
      "written-on-node3",
    );
    // The reboot restarted services; the installer still sees nothing to do.
    expect((await install()).changes).toEqual([]);
  });

  it("refuses bad inputs with clear errors and breaks nothing", async () => {
    const bad = async (s: Partial<InstallSpec>, re: RegExp) => {
      const e = await install(s).catch((x: Error) => x);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).not.toContain(MDM_PASSWORD);
      expect((e as Error).message).not.toContain(GATEWAY_PASSWORD);
    };
    const missing = path.join(tmp, "missing");
    fs.mkdirSync(missing);
    for (const f of fs.readdirSync(rpmDir).filter((f) => !f.includes("-sds-")))
      fs.copyFileSync(path.join(rpmDir, f), path.join(missing, f));
    await bad(
      { rpmDir: missing },
      /missing ScaleIO package\(s\) for centos7 .*EMC-ScaleIO-sds-3\.6-700\.103\.el7\.x86_64\.rpm/,
    );
    const el8 = path.join(tmp, "el8");
    fs.mkdirSync(el8);
    for (const f of fs.readdirSync(rpmDir))
      fs.writeFileSync(path.join(el8, f.replace(".el7.", ".el8.")), "not used");
    await bad({ rpmDir: el8 }, /built for el8, but the stack's OS centos7 needs el7/);
    await bad(
      { rpmDir: el8, os: "rocky8" },
      /\[node\d\] the host runs CentOS Linux 7 \(Core\) \(centos7\) but the stack is set up for rocky8/,
    );
    await bad(
      { mdmPassword: "Wrong-Pw-123" },
      /rejects the configured MDM admin password \(mdmPassword\)/,
    );
    const unreachable = spec.machines.map((m, i) => (i === 2 ? { ...m, sshPort: 9 } : m));
    await bad(
      { machines: unreachable, connectTimeoutMs: 3000 },
      /\[node3\] could not connect over SSH to root@127\.0\.0\.1:9 .*Check that the machine is running/,
    );
    const otherKey = lab.hosts[0].hostKey;
    await bad(
      { pinnedHostKeys: { node2: otherKey } },
      /REFUSING to connect to node2 .*host key changed.*pulumi up --replace/s,
    );
    await bad(
      { adopted: true },
      /REFUSING to connect to existing host node\d .*no host key is configured/,
    );
    // An adopted host that refuses the key: said at once, not retried for the connect timeout.
    const t0 = Date.now();
    await bad(
      {
        adopted: true,
        machines: spec.machines.map((m, i) => ({ ...m, hostKey: lab.hosts[i].hostKey })),
        privateKey: generateHostKey("not-accepted").privateKey,
      },
      /SSH login refused for \w+@127\.0\.0\.1:\d+: the host does not accept the configured private key/,
    );
    expect(Date.now() - t0).toBeLessThan(50_000);
    const noDevice = spec.machines.map((m, i) => (i === 2 ? { ...m, dataDisks: ["/dev/vdz"] } : m));
    await bad(
      { machines: noDevice },
      /\[node3\] HostPrep: SDS device \/dev\/vdz on node3 does not exist: fix dataDisks for node node3.*Nothing was changed on any host/,
    );
    // Nothing above changed anything.
    expect((await install()).changes).toEqual([]);
  });

  it("adding a node installs only on it, and refuses to hide existing /var/lib/docker data", async () => {
    const h4 = await lab.addHost();
    await sh(
      h4.name,
      "mkdir -p /var/lib/docker/containers && echo precious > /var/lib/docker/containers/keep.txt",
    );
    const machines = [...spec.machines, labMachine(h4, 3)];
    const e = await install({ machines }).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(
      /\[node4\] DockerVolume: \/var\/lib\/docker already holds data .*will not hide or delete it/,
    );
    expect(await sh(h4.name, "cat /var/lib/docker/containers/keep.txt")).toBe("precious");
    await sh(h4.name, "mv /var/lib/docker /var/lib/docker.old");
    const t = Date.now();
    const r = await install({ machines });
    times.addNode = (Date.now() - t) / 1000;
    expect(r.changes.filter((c) => c.host === "node2" || c.host === "node3")).toEqual([]);
    expect(r.changes.some((c) => c.host === "node4")).toBe(true);
    expect(r.verification!.docker.node4.rootDir).toBe("/var/lib/docker");
    expect(await sh(h4.name, "cat /var/lib/docker.old/containers/keep.txt")).toBe("precious");
  });

  it("transport: uploads only when the sha256 differs, sudo, secrets on stdin, timeouts, exit status", async () => {
    const h = lab.hosts[1];
    const log = stepLog(nullSink, new Redactor(), h.name, "transport");
    const target = {
      name: h.name,
      host: h.sshHost,
      port: h.sshPort,
      user: "centos",
      privateKey: lab.privateKey,
      hostKey: h.hostKey,
      mayPin: false,
    };
    const s = await SshSession.connect(target, { log });
    try {
      const local = path.join(tmp, "blob.bin");
      fs.writeFileSync(local, "first");
      const blob = [{ local, name: "t/blob.bin" }];
      expect(await stageFiles(s, blob, log)).toBe(1);
      expect(await stageFiles(s, blob, log)).toBe(0);
      fs.writeFileSync(local, "second");
      expect(await stageFiles(s, blob, log)).toBe(1);
      expect(await sh(h.name, `cat ${STAGING_ROOT}/t/blob.bin`)).toBe("second");
      // Runs as root through sudo -n; a secret arrives through stdin only.
      const r = await s.exec('id -u; echo "len=${#MY_SECRET}"; tr "\\0" " " < /proc/$$/cmdline', {
        log,
        secrets: { MY_SECRET: "abc-def-ghi" },
      });
      expect(r.stdout).toContain("0\nlen=11\n");
      expect(r.stdout).not.toContain("abc-def-ghi");
      await expect(s.exec("sleep 30", { log, timeoutMs: 1000 })).rejects.toThrow(
        /timed out after 1 s: sleep 30/,
      );
      await expect(s.exec("exit 3", { log })).rejects.toThrow(
        /\[node2\] transport: command failed with exit status 3: exit 3/,
      );
    } finally {
      s.close();
    }
  });

  it("never logs a secret", () => {
    const all = logs.map((l) => l.text).join("\n");
    expect(all.length).toBeGreaterThan(1000);
    expect(all).not.toContain(MDM_PASSWORD);
    expect(all).not.toContain(GATEWAY_PASSWORD);
    expect(all).not.toContain("PRIVATE KEY");
  });
});
