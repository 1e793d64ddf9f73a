// The ScaleIO emulator against the rules of the real product (docs: test/emulator/README.md).
// Part 1 runs on emulated hosts of our own (network namespaces + chroot, no systemd), part 2 on
// the lab's systemd hosts over SSH when test/lab/hosts exists. Needs root.
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import {
  addDisk,
  hostExec,
  type ExecResult,
  type LocalHost,
  rebootHost,
  startLocalHosts,
  startService,
  stopService,
  teardownLocalHosts,
} from "../emulator/local-hosts";
import { type Lab, startLab } from "./hosts";
import { requireRoot, sshConnect, sshExec, sshPut } from "./fixtures";

const V2 = "2.0-14000.231";
const V3 = "3.6-700.103";
const PASSWORD = "Arrowhead-1";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retry until check passes (the daemons work in the background); returns the last result. */
async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000) {
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

requireRoot();

const QUIET_RPM = `2>&1 | grep -v -e 'use Alien' -e 'assuming you know'`;

describe("ScaleIO emulator on local network-namespace hosts", () => {
  let rpms2: string[] = [];
  let rpms3: string[] = [];
  let a: LocalHost, b: LocalHost, c: LocalHost, d: LocalHost;
  const times: Record<string, number> = {};
  const scli = (h: LocalHost, args: string) => hostExec(h, `scli ${args}`);
  const drvCfg = (h: LocalHost, args: string) =>
    hostExec(h, `/opt/emc/scaleio/sdc/bin/drv_cfg ${args}`);
  let systemId = "";
  const both = () => `--mdm_ip ${a.ip},${b.ip}`;
  let volId = "";

  beforeAll(async () => {
    let t = Date.now();
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "emu-rpms-"));
    rpms2 = await buildEmulatorRpms({ version: V2, dist: "el7", outDir });
    rpms3 = await buildEmulatorRpms({ version: V3, dist: "el8", outDir, components: ["mdm"] });
    times.buildRpms = Date.now() - t;
    t = Date.now();
    [a, b, c, d] = await startLocalHosts(["a", "b", "c", "d"]);
    for (const h of [a, b, c, d]) {
      fs.mkdirSync(path.join(h.root, "rpms"));
      for (const f of h === d ? rpms3 : rpms2) {
        fs.copyFileSync(f, path.join(h.root, "rpms", path.basename(f)));
      }
    }
    for (const h of [a, b, c]) await addDisk(h, "sdb", 100);
    await addDisk(a, "sdc", 50);
    times.startHosts = Date.now() - t;
  });

  let outDir = "";

  afterAll(async () => {
    await teardownLocalHosts();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
    console.log("emulator timings (ms):", JSON.stringify(times));
  });

  it("names the RPMs like the vendor and says they are an emulator, with no EL requirements", async () => {
    expect(rpms2.map((f) => path.basename(f))).toEqual([
      "EMC-ScaleIO-mdm-2.0-14000.231.el7.x86_64.rpm",
      "EMC-ScaleIO-sds-2.0-14000.231.el7.x86_64.rpm",
      "EMC-ScaleIO-sdc-2.0-14000.231.el7.x86_64.rpm",
      "EMC-ScaleIO-lia-2.0-14000.231.el7.x86_64.rpm",
      "EMC-ScaleIO-gateway-2.0-14000.231.x86_64.rpm",
    ]);
    expect(path.basename(rpms3[0])).toBe("EMC-ScaleIO-mdm-3.6-700.103.el8.x86_64.rpm");
    const r = await hostExec(
      a,
      `rpm -qp --qf '%{SUMMARY}\\n' /rpms/*.rpm; rpm -qp --requires /rpms/*.rpm`,
    );
    expect(r.stdout).toMatch(/Arrowhead test emulator/);
    const requires = r.stdout.split("\n").filter((l) => l && !/emulator/.test(l));
    expect(requires.every((l) => l.startsWith("rpmlib("))).toBe(true);
  });

  it("refuses to install the MDM without MDM_ROLE_IS_MANAGER, or with a bad value", async () => {
    let r = await hostExec(a, `rpm -i /rpms/EMC-ScaleIO-mdm-*.rpm`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/MDM_ROLE_IS_MANAGER is not set/);
    r = await hostExec(a, `MDM_ROLE_IS_MANAGER=2 rpm -i /rpms/EMC-ScaleIO-mdm-*.rpm`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/MDM_ROLE_IS_MANAGER must be 1 \(manager\) or 0 \(tie-breaker\)/);
    expect((await hostExec(a, "rpm -q EMC-ScaleIO-mdm")).code).not.toBe(0);
  });

  it("refuses LIA without TOKEN, gateway without GATEWAY_ADMIN_PASSWORD, SDC with a bad MDM_IP", async () => {
    let r = await hostExec(a, `rpm -i /rpms/EMC-ScaleIO-lia-*.rpm`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/TOKEN is not set/);
    r = await hostExec(a, `rpm -i /rpms/EMC-ScaleIO-gateway-*.rpm`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/GATEWAY_ADMIN_PASSWORD is not set/);
    r = await hostExec(a, `MDM_IP=mdm1 rpm -i /rpms/EMC-ScaleIO-sdc-*.rpm`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/MDM_IP=mdm1 is not a comma-separated list of IPv4 addresses/);
  });

  it("installs every package with the vendor's variables and layout", async () => {
    const t = Date.now();
    const mdmIps = `${a.ip},${b.ip}`;
    for (const [h, role] of [
      [a, 1],
      [b, 1],
      [c, 0],
    ] as const) {
      const r = await hostExec(
        h,
        `cd /rpms && MDM_ROLE_IS_MANAGER=${role} rpm -i EMC-ScaleIO-mdm-*.rpm && rpm -i EMC-ScaleIO-sds-*.rpm && MDM_IP=${mdmIps} rpm -i EMC-ScaleIO-sdc-*.rpm`,
      );
      expect(r.stderr).not.toMatch(/error/);
      expect(r.code).toBe(0);
    }
    const r = await hostExec(
      a,
      `cd /rpms && GATEWAY_ADMIN_PASSWORD=Gateway-1 rpm -i EMC-ScaleIO-gateway-*.rpm && TOKEN=Lia-token-1 rpm -i EMC-ScaleIO-lia-*.rpm`,
    );
    expect(r.code).toBe(0);
    times.installPackages = Date.now() - t;
    const files = await hostExec(
      a,
      [
        "readlink /usr/bin/scli",
        "test -x /opt/emc/scaleio/sdc/bin/drv_cfg && echo drv_cfg",
        "grep '^mdm ' /etc/emc/scaleio/drv_cfg.txt",
        "cat /opt/emc/scaleio/mdm/cfg/conf.txt",
        "ls /usr/lib/systemd/system | grep -E '^(mdm|sds|scini|lia|scaleio-gateway)[.]service$'",
        "openssl x509 -noout -subject -in /opt/emc/scaleio/gateway/conf/certificates/gateway.crt",
        "grep -c '^gateway-admin.password=' /opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties",
      ].join("; "),
    );
    expect(files.stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "/opt/emc/scaleio/mdm/bin/cli",
        "drv_cfg",
        `mdm ${mdmIps}`,
        "actor_role_is_manager=1",
        "lia.service",
        "mdm.service",
        "scaleio-gateway.service",
        "scini.service",
        "sds.service",
        "1",
      ]),
    );
    expect((await hostExec(c, "cat /opt/emc/scaleio/mdm/cfg/conf.txt")).stdout).toBe(
      "actor_role_is_manager=0\n",
    );
    // The secret is stored hashed, never as given.
    expect(
      (
        await hostExec(
          a,
          "grep -r Gateway-1 /opt/emc/scaleio /etc/emc; grep -r Lia-token-1 /opt/emc",
        )
      ).stdout,
    ).toBe("");
  });

  it("refuses to uninstall without I_AM_SURE=1 and uninstalls with it", async () => {
    let r = await hostExec(a, `rpm -e EMC-ScaleIO-lia`);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Set I_AM_SURE=1 to uninstall/);
    expect((await hostExec(a, "rpm -q EMC-ScaleIO-lia")).code).toBe(0);
    r = await hostExec(
      a,
      `I_AM_SURE=1 rpm -e EMC-ScaleIO-lia ${QUIET_RPM}; rpm -q EMC-ScaleIO-lia`,
    );
    expect(r.stdout).toMatch(/is not installed/);
    expect((await hostExec(a, "TOKEN=Lia-token-1 rpm -i /rpms/EMC-ScaleIO-lia-*.rpm")).code).toBe(
      0,
    );
  });

  it("starts the daemons (systemd's ExecStart; no systemd in these hosts)", async () => {
    for (const h of [a, b, c]) for (const s of ["mdm", "sds", "scini"]) startService(h, s);
    startService(a, "scaleio-gateway");
    startService(a, "lia");
    await until(
      "the MDM on every host",
      () =>
        hostExec(
          a,
          `python3 -c 'import socket, sys; [socket.create_connection((ip, 9011), 2).close() for ip in sys.argv[1:]]' ${a.ip} ${b.ip} ${c.ip}`,
        ),
      (r) => r.code === 0,
      180_000,
    );
    // Every daemon started is up on its own host: each answers on its port (the SDC on its
    // peer data port), connected to from inside that host's network namespace.
    const ports: Record<string, number> = {
      mdm: 9011,
      sds: 7072,
      scini: 7079,
      "scaleio-gateway": 443,
      lia: 9099,
    };
    for (const [h, services] of [
      [a, ["mdm", "sds", "scini", "scaleio-gateway", "lia"]],
      [b, ["mdm", "sds", "scini"]],
      [c, ["mdm", "sds", "scini"]],
    ] as const) {
      const probe = () =>
        hostExec(
          h,
          `python3 -c 'import socket, sys
for p in sys.argv[2:]:
    try: socket.create_connection((sys.argv[1], int(p)), 2).close(); print(p, "up")
    except OSError: print(p, "down")' ${h.ip} ${services.map((s) => ports[s]).join(" ")}`,
        );
      const want = services.map((s) => `${ports[s]} up`).join("\n") + "\n";
      const r = await until(`${services.join(", ")} on ${h.name}`, probe, (x) => x.stdout === want);
      expect(r.stdout, h.name).toBe(want);
    }
  });

  it("LIA answers on 9099 only to the TOKEN given at install", async () => {
    const ask = (token: string) =>
      hostExec(
        b,
        `LIA_TOKEN=${token} python3 -c 'import os,sys,json; sys.path.insert(0,"/opt/emc/scaleio/mdm/lib"); from scaleio_emu import common; print(json.dumps(common.call("${a.ip}", 9099, {"op":"query","token":os.environ["LIA_TOKEN"]})[0]))'`,
      );
    expect(
      (
        await until(
          "LIA",
          () => ask("wrong"),
          (r) => r.code === 0,
        )
      ).stdout,
    ).toMatch(/wrong LIA token/);
    expect((await ask("Lia-token-1")).stdout).toMatch(
      /"components": \["gateway", "lia", "mdm", "sdc", "sds"\]/,
    );
  });

  it("does nothing but create before the cluster exists, answering like a real MDM", async () => {
    // 2.0.1 and later (V2 is 2.0.1.4): the vendor's words for an MDM that belongs to no system.
    expectFail(
      await scli(a, "--login --username admin --password admin --approve_certificate"),
      7,
      /^Error: MDM failed command\. {2}Status: This MDM is not attached to a system\.$/m,
    );
    expectFail(
      await scli(a, "--add_protection_domain --protection_domain_name pd1 --approve_certificate"),
      7,
      /Status: This MDM is not attached to a system\./,
    );
    // Usage errors are refused before anything is sent, with their own exit status.
    expectFail(
      await scli(a, "--add_protection_domain --protection_domain_nmae pd1"),
      2,
      /^Error: Unknown option --protection_domain_nmae for --add_protection_domain$/m,
    );
  });

  it("creates the cluster only with the license accepted, on a manager MDM, once", async () => {
    const create = (h: LocalHost, extra: string) =>
      scli(
        h,
        `--create_mdm_cluster --master_mdm_ip ${h.ip} --master_mdm_management_ip ${h.ip} --master_mdm_name mdm1 --approve_certificate ${extra}`,
      );
    expectFail(await create(a, ""), 1, /The license must be accepted: add --accept_license/);
    expectFail(await create(c, "--accept_license"), 7, /installed as a tie-breaker/);
    expectFail(
      await scli(
        a,
        `--create_mdm_cluster --master_mdm_ip ${b.ip} --master_mdm_name m --accept_license --approve_certificate`,
      ),
      7,
      /IP address .* is not configured on this MDM host/,
    );
    expect(expectOk(await create(a, "--accept_license"))).toMatch(
      /^Successfully created the MDM Cluster/,
    );
    expectFail(await create(a, "--accept_license"), 7, /The MDM cluster already exists/);
  });

  it("logs in (after the new MDM answers), rejects a wrong password, and forces a password change", async () => {
    const t = Date.now();
    const login = await until(
      "the new MDM",
      () => scli(a, "--login --username admin --password admin --approve_certificate"),
      (r) => r.code === 0 || !/not ready yet/.test(r.stderr),
    );
    times.createToLogin = Date.now() - t;
    const m = /^Logged in\. User role is SuperUser\. System ID is ([0-9a-f]{16})$/m.exec(
      login.stdout,
    );
    expect(m).not.toBeNull();
    systemId = m![1];
    expectFail(
      await scli(a, "--login --username admin --password nope"),
      7,
      /Invalid username or password/,
    );
    expectFail(await scli(a, "--query_cluster"), 7, /must be changed before any other command/);
    expectFail(
      await scli(a, "--set_password --old_password admin --new_password short"),
      7,
      /does not meet the requirements/,
    );
    expectFail(
      await scli(a, "--set_password --old_password wrong --new_password Arrowhead-2"),
      7,
      /old password is wrong/,
    );
    // Passwords can come on stdin, out of the process list.
    expect(
      expectOk(await hostExec(a, `printf 'admin\\n${PASSWORD}\\n' | scli --set_password`)),
    ).toMatch(/Password changed successfully/);
    expectFail(await scli(a, "--query_cluster"), 7, /Please login first/);
    expectOk(await hostExec(a, `echo '${PASSWORD}' | scli --login --username admin`));
    expectOk(await scli(a, "--logout"));
    expectFail(await scli(a, "--query_cluster"), 7, /Please login first/);
    expectOk(await scli(a, `--login --username admin --password ${PASSWORD}`));
  });

  it("requires approving the MDM certificate per user: a y/n prompt, never a hang", async () => {
    const login = `scli --login --username admin --password ${PASSWORD}`;
    const closed = await hostExec(a, `HOME=/tmp/other ${login} </dev/null`);
    expectFail(
      closed,
      1,
      /certificate .* is not trusted\. Approve it by running the command with --approve_certificate \(stdin is closed/,
    );
    expect(closed.stdout).toMatch(/Press 'y' to approve this certificate/);
    expectFail(
      await hostExec(a, `echo n | HOME=/tmp/other ${login}`),
      1,
      /the answer was 'n', not y/,
    );
    expect(expectOk(await hostExec(a, `echo y | HOME=/tmp/other ${login}`))).toMatch(
      /Logged in\. User role is SuperUser/,
    );
    // Approved once: no prompt the next time.
    expect(expectOk(await hostExec(a, `HOME=/tmp/other ${login} </dev/null`))).not.toMatch(
      /Press 'y'/,
    );
  });

  it("adds standby MDMs only with the role they were installed with, and unique names", async () => {
    expectFail(
      await scli(a, `--add_standby_mdm --new_mdm_ip ${c.ip} --mdm_role manager --new_mdm_name tb1`),
      7,
      /installed as a tie-breaker \(MDM_ROLE_IS_MANAGER=0\)/,
    );
    expectFail(
      await scli(
        a,
        `--add_standby_mdm --new_mdm_ip ${b.ip} --mdm_role manager --new_mdm_name mdm1`,
      ),
      7,
      /An MDM with the name mdm1 already exists/,
    );
    expectFail(
      await scli(
        a,
        `--add_standby_mdm --new_mdm_ip 10.213.77.99 --mdm_role manager --new_mdm_name x`,
      ),
      7,
      /Could not communicate with the MDM at 10\.213\.77\.99:9011/,
    );
    expect(
      expectOk(
        await scli(
          a,
          `--add_standby_mdm --new_mdm_ip ${b.ip} --mdm_role manager --new_mdm_management_ip ${b.ip} --new_mdm_name mdm2`,
        ),
      ),
    ).toMatch(/Successfully added a standby MDM/);
    expect(
      expectOk(
        await scli(a, `--add_standby_mdm --new_mdm_ip ${c.ip} --mdm_role tb --new_mdm_name tb1`),
      ),
    ).toMatch(/Successfully added a standby MDM/);
    expectFail(
      await scli(
        a,
        `--add_standby_mdm --new_mdm_ip ${b.ip} --mdm_role manager --new_mdm_name mdm9`,
      ),
      7,
      /already exists in the cluster/,
    );
  });

  it("switches to 3_node only with one slave and one tie-breaker", async () => {
    expectFail(
      await scli(a, "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name mdm2"),
      7,
      /3_node needs 1 slave MDM\(s\) and 1 tie-breaker\(s\)/,
    );
    expectFail(
      await scli(
        a,
        "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name tb1 --add_tb_name mdm2",
      ),
      7,
      /is a tie-breaker and cannot be a slave/,
    );
    expectFail(
      await scli(
        a,
        "--switch_cluster_mode --cluster_mode 5_node --add_slave_mdm_name mdm2 --add_tb_name tb1",
      ),
      7,
      /5_node needs 2 slave/,
    );
    expect(
      expectOk(
        await scli(
          a,
          "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name mdm2 --add_tb_name tb1",
        ),
      ),
    ).toMatch(/Successfully switched the cluster mode/);
    const q = expectOk(await scli(a, "--query_cluster"));
    expect(q).toMatch(/^Cluster:\n {4}Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2\n/);
    expect(q).toMatch(/Master MDM:\n {4}Name: mdm1, ID: 0x[0-9a-f]{16}\n {8}IPs: 10\.213\.77\.11,/);
    expect(q).toMatch(/Slave MDMs:\n {4}Name: mdm2, ID: 0x[0-9a-f]{16}\n {8}IPs: 10\.213\.77\.12,/);
    expect(q).toMatch(
      /Tie-Breakers:\n {4}Name: tb1, ID: 0x[0-9a-f]{16}\n {8}IPs: 10\.213\.77\.13,/,
    );
  });

  it("renames the system and keeps protection domain and pool names unique; 2.x needs no media type", async () => {
    expectOk(await scli(a, "--rename_system --new_name arrowhead"));
    expect(expectOk(await scli(a, "--add_protection_domain --protection_domain_name pd1"))).toMatch(
      /^Successfully created protection domain/,
    );
    expectFail(
      await scli(a, "--add_protection_domain --protection_domain_name pd1"),
      7,
      /already exists/,
    );
    expect(
      expectOk(
        await scli(a, "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
      ),
    ).toMatch(/^Successfully created a storage pool/);
    expectFail(
      await scli(a, "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
      7,
      /already exists/,
    );
    expectFail(
      await scli(a, "--add_storage_pool --protection_domain_name nope --storage_pool_name sp2"),
      7,
      /Could not find the Protection Domain/,
    );
  });

  it("adds an SDS only with existing, large enough block devices, once per name and IP", async () => {
    const add = (ip: string, dev: string, name: string) =>
      scli(
        a,
        `--add_sds --sds_ip ${ip} --device_path ${dev} --sds_name ${name} --protection_domain_name pd1 --storage_pool_name sp1`,
      );
    expectFail(
      await add(a.ip, "/dev/sdx", "sds1"),
      7,
      /Device \/dev\/sdx does not exist on the SDS at 10\.213\.77\.11/,
    );
    expectFail(
      await add(a.ip, "/dev/sdc", "sds1"),
      7,
      /too small \(50\.0 GB\); the minimum device size is 90 GB/,
    );
    await hostExec(a, "truncate -s 200G /root/file-device");
    expectFail(await add(a.ip, "/root/file-device", "sds1"), 7, /is not a block device/);
    expectFail(
      await add("10.213.77.99", "/dev/sdb", "sds1"),
      7,
      /Could not communicate with the SDS at 10\.213\.77\.99:7072/,
    );
    for (const [i, h] of [a, b, c].entries()) {
      expect(expectOk(await add(h.ip, "/dev/sdb", `sds${i + 1}`))).toMatch(
        /^Successfully created SDS/,
      );
    }
    expectFail(
      await add(a.ip, "/dev/sdb", "sds9"),
      7,
      /An SDS with the IP 10\.213\.77\.11 already exists/,
    );
    expectFail(
      await add("10.213.77.254", "/dev/sdb", "sds1"),
      7,
      /An SDS with the name sds1 already exists/,
    );
    const q = expectOk(await scli(a, "--query_all_sds"));
    expect(q).toMatch(
      /SDS ID: [0-9a-f]{16} Name: sds1 State: Connected, Joined IP: 10\.213\.77\.11 Port: 7072 Version: 2\.0\.14000/,
    );
  });

  it("rounds volume sizes up to 8 GB multiples and checks capacity and names", async () => {
    const add = (size: string, name: string) =>
      scli(
        a,
        `--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb ${size} --volume_name ${name}`,
      );
    const out = expectOk(await add("10", "vol1"));
    expect(out).toMatch(
      /^Warning: Rounding up the volume size to 16 GB\nSuccessfully created volume of size 16 GB\. Object ID ([0-9a-f]{16})/,
    );
    volId = /Object ID ([0-9a-f]{16})/.exec(out)![1];
    expect(expectOk(await add("8", "vol8"))).not.toMatch(/Rounding/);
    expectFail(await add("0", "vol0"), 1, /at least 8 GB/);
    expectFail(
      await add("1000", "huge"),
      7,
      /Not enough capacity in Storage Pool sp1: 1000 GB requested/,
    );
    expectFail(await add("8", "vol1"), 7, /A volume with the name vol1 already exists/);
    expect(expectOk(await scli(a, "--query_all_volumes"))).toMatch(
      new RegExp(
        ` Volume ID: ${volId} Name: vol1 Size: 16\\.0 GB \\(16384 MB\\) Unmapped Thick-provisioned`,
      ),
    );
  });

  it("maps only to registered SDCs, a second SDC only with --allow_multi_map", async () => {
    await until(
      "3 SDCs registered",
      () => scli(a, "--query_all_sdc"),
      (r) => /returned 3 SDC nodes/.test(r.stdout),
    );
    expectFail(
      await scli(a, "--map_volume_to_sdc --volume_name vol1 --sdc_ip 10.213.77.99"),
      7,
      /Could not find the SDC/,
    );
    expectFail(
      await scli(a, `--map_volume_to_sdc --volume_name nope --sdc_ip ${a.ip}`),
      7,
      /Could not find the volume/,
    );
    expectOk(await scli(a, `--map_volume_to_sdc --volume_name vol1 --sdc_ip ${a.ip}`));
    expectFail(
      await scli(a, `--map_volume_to_sdc --volume_name vol1 --sdc_ip ${a.ip}`),
      7,
      /already mapped to this SDC/,
    );
    expectFail(
      await scli(a, `--map_volume_to_sdc --volume_name vol1 --sdc_ip ${b.ip}`),
      7,
      /use --allow_multi_map/,
    );
    expectOk(
      await scli(a, `--map_volume_to_sdc --volume_name vol1 --sdc_ip ${b.ip} --allow_multi_map`),
    );
    expectOk(await scli(a, `--unmap_volume_from_sdc --volume_name vol1 --sdc_ip ${b.ip}`));
    expectFail(
      await scli(a, `--unmap_volume_from_sdc --volume_name vol1 --sdc_ip ${b.ip}`),
      7,
      /not mapped to this SDC/,
    );
    expect(expectOk(await scli(a, "--query_volume --volume_name vol1"))).toMatch(
      /Mapped SDCs:\n\t\tSDC ID: [0-9a-f]{16} IP: 10\.213\.77\.11/,
    );
  });

  it("makes the mapped volume a real block device with the stable by-id name", async () => {
    const t = Date.now();
    expectOk(await drvCfg(a, "--rescan"));
    const link = `/dev/disk/by-id/emc-vol-${systemId}-${volId}`;
    expect(
      expectOk(
        await hostExec(
          a,
          `readlink ${link}; test -b /dev/scinia && echo block; blockdev --getsize64 /dev/scinia`,
        ),
      ),
    ).toBe(`../../scinia\nblock\n${16 * 1024 ** 3}\n`);
    times.mapToDevice = Date.now() - t;
    expect(expectOk(await drvCfg(a, "--query_vols"))).toBe(
      `Retrieved 1 volume(s)\nVOL-ID ${volId} MDM-ID ${systemId}\n`,
    );
    expect(expectOk(await drvCfg(a, "--query_guid"))).toMatch(/^[0-9A-F-]{36}\n$/);
    expect(expectOk(await drvCfg(a, "--query_mdms"))).toMatch(
      new RegExp(`MDM-ID ${systemId} .*\\[0\\]-10\\.213\\.77\\.11 \\[1\\]-10\\.213\\.77\\.12`),
    );
    // The unmapped SDC lost its device.
    await until(
      "unmap on b",
      () => hostExec(b, "ls /dev/scinia"),
      (r) => r.code !== 0,
    );
  });

  it("keeps the data across unmount, SDC restart and host reboot", async () => {
    expectOk(
      await hostExec(
        a,
        `mkfs.ext4 -q /dev/disk/by-id/emc-vol-${systemId}-${volId} && mkdir -p /mnt/v && mount /dev/scinia /mnt/v && echo arrowhead > /mnt/v/proof && umount /mnt/v`,
      ),
    );
    expect(
      expectOk(await hostExec(a, "mount /dev/scinia /mnt/v && cat /mnt/v/proof && umount /mnt/v")),
    ).toBe("arrowhead\n");
    const guid = expectOk(await drvCfg(a, "--query_guid"));
    await stopService(a, "scini");
    startService(a, "scini");
    await until(
      "scini back",
      () => drvCfg(a, "--query_vols"),
      (r) => r.code === 0,
    );
    expect(expectOk(await drvCfg(a, "--query_guid"))).toBe(guid);
    expect(
      expectOk(await hostExec(a, "mount /dev/scinia /mnt/v && cat /mnt/v/proof && umount /mnt/v")),
    ).toBe("arrowhead\n");
    const t = Date.now();
    await rebootHost(a, ["mdm", "sds", "scini", "lia", "scaleio-gateway"]);
    const r = await until(
      "volume after reboot",
      () => hostExec(a, "mount /dev/scinia /mnt/v && cat /mnt/v/proof && umount /mnt/v"),
      (x) => x.code === 0,
    );
    expect(r.stdout).toBe("arrowhead\n");
    times.rebootToData = Date.now() - t;
    // The cluster state survived the master's reboot too (the slave may have taken over meanwhile).
    const q = await until(
      "cluster normal after reboot",
      () => scli(a, `--query_cluster ${both()}`),
      (x) => /State: Normal/.test(x.stdout),
    );
    expect(q.stdout).toMatch(/Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2/);
    expect(expectOk(await scli(a, `--query_all_sdc ${both()}`))).toMatch(/returned 3 SDC nodes/);
  });

  it("reports Degraded while a member is down", async () => {
    await stopService(c, "mdm");
    const q = await until(
      "degraded",
      () => scli(a, `--query_cluster ${both()}`),
      (r) => /Degraded/.test(r.stdout),
    );
    expect(q.stdout).toMatch(/Mode: 3_node, State: Degraded, Active: 2\/3, Replicas: 2\/2/);
    expect(q.stdout).toMatch(/Name: tb1, ID: 0x[0-9a-f]+\n.*\n {8}Status: Disconnected/);
    startService(c, "mdm");
    await until(
      "normal again",
      () => scli(a, `--query_cluster ${both()}`),
      (r) => /State: Normal/.test(r.stdout),
    );
  });

  it("fails over to the slave; --mdm_ip with both managers keeps working; the old master rejoins", async () => {
    const before = expectOk(await scli(a, `--query_cluster ${both()}`));
    const master = /Master MDM:\n {4}Name: (mdm\d)/.exec(before)![1];
    const [down, up, next] = master === "mdm1" ? [a, b, "mdm2"] : [b, a, "mdm1"];
    const t = Date.now();
    await stopService(down, "mdm");
    const q = await until(
      "failover",
      () => scli(a, `--query_cluster ${both()}`),
      (r) => new RegExp(`Master MDM:\n {4}Name: ${next}`).test(r.stdout),
      60_000,
    );
    times.failover = Date.now() - t;
    expect(q.stdout).toMatch(/State: Degraded, Active: 2\/3, Replicas: 1\/2/);
    expectFail(await scli(a, `--query_cluster --mdm_ip ${down.ip}`), 1, /Failed to connect to MDM/);
    // State replicated before the failover is all there.
    expect(expectOk(await scli(a, `--query_all_volumes ${both()}`))).toMatch(
      /Name: vol1 Size: 16\.0 GB/,
    );
    expectOk(
      await scli(
        a,
        `--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 8 --volume_name after-failover ${both()}`,
      ),
    );
    startService(down, "mdm");
    const back = await until(
      "old master rejoined",
      () => scli(a, `--query_cluster ${both()}`),
      (r) => /State: Normal/.test(r.stdout),
    );
    expect(back.stdout).toMatch(new RegExp(`Slave MDMs:\n {4}Name: ${master}`));
    expectFail(
      await scli(a, `--query_cluster --mdm_ip ${down.ip}`),
      1,
      new RegExp(`${down.ip.replace(/\./g, "\\.")} is not the master MDM \\(it is slave\\)`),
    );
    expect(expectOk(await scli(a, `--query_cluster --mdm_ip ${up.ip}`))).toMatch(/State: Normal/);
  });

  describe("gateway", () => {
    const props = () =>
      path.join(
        a.root,
        "opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties",
      );
    const call = (method: string, urlPath: string, auth: string, body?: unknown) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        // Pin the certificate the package generated instead of turning verification off.
        const ca = fs.readFileSync(
          path.join(a.root, "opt/emc/scaleio/gateway/conf/certificates/gateway.crt"),
        );
        const data = body === undefined ? undefined : JSON.stringify(body);
        const req = https.request(
          {
            host: a.ip,
            port: 443,
            method,
            path: urlPath,
            ca,
            checkServerIdentity: () => undefined,
            headers: {
              Authorization: `Basic ${Buffer.from(auth).toString("base64")}`,
              ...(data
                ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) }
                : {}),
            },
          },
          (res) => {
            let text = "";
            res.on("data", (c: Buffer) => (text += c.toString()));
            res.on("end", () =>
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }),
            );
          },
        );
        req.on("error", reject);
        req.end(data);
      });
    const restartGateway = async () => {
      await stopService(a, "scaleio-gateway");
      startService(a, "scaleio-gateway");
      await until(
        "gateway",
        () => call("GET", "/api/version", ":x").catch(() => ({ status: 0, body: null })),
        (r) => r.status === 200,
      );
    };
    const mdmAdmin = `admin:${PASSWORD}`;

    it("answers errors until it knows the MDM addresses and trusts the MDM certificate", async () => {
      await restartGateway();
      let r = await call("GET", "/api/login", mdmAdmin);
      expect(r.status).toBe(500);
      expect(JSON.stringify(r.body)).toMatch(/No MDM is configured: set mdm\.ip\.addresses/);
      fs.appendFileSync(props(), `mdm.ip.addresses=${a.ip},${b.ip}\n`);
      r = await call("GET", "/api/login", mdmAdmin);
      expect(JSON.stringify(r.body)).toMatch(/No MDM is configured/); // read at start only
      await restartGateway();
      r = await call("GET", "/api/login", mdmAdmin);
      expect(r.status).toBe(500);
      expect(JSON.stringify(r.body)).toMatch(/The MDM certificate is not trusted/);
      expect((await call("GET", "/api/gatewayLogin", "admin:wrong")).status).toBe(401);
      const admin = await call("GET", "/api/gatewayLogin", "admin:Gateway-1");
      expect(admin.status).toBe(200);
      expect(
        (await call("POST", "/api/trustHostCertificate/Mdm", `admin:${String(admin.body)}`, {}))
          .status,
      ).toBe(200);
    });

    it("logs in with the MDM user and lists and changes the cluster", async () => {
      expect((await call("GET", "/api/login", "admin:wrong")).status).toBe(401);
      const login = await call("GET", "/api/login", mdmAdmin);
      expect(login.status).toBe(200);
      expect(typeof login.body).toBe("string");
      const auth = `:${String(login.body)}`;
      expect((await call("GET", "/api/version", auth)).body).toBe("2.0");
      const system = (await call("GET", "/api/types/System/instances", auth)).body as {
        id: string;
        name: string;
      }[];
      expect(system).toEqual([expect.objectContaining({ id: systemId, name: "arrowhead" })]);
      const pools = (await call("GET", "/api/types/StoragePool/instances", auth)).body as {
        id: string;
        name: string;
      }[];
      expect(pools.map((p) => p.name)).toEqual(["sp1"]);
      expect(
        ((await call("GET", "/api/types/ProtectionDomain/instances", auth)).body as unknown[])
          .length,
      ).toBe(1);
      expect(((await call("GET", "/api/types/Sds/instances", auth)).body as unknown[]).length).toBe(
        3,
      );
      const sdcs = (await call("GET", `/api/instances/System::${systemId}/relationships/Sdc`, auth))
        .body as { id: string; sdcIp: string }[];
      expect(sdcs.map((s) => s.sdcIp).sort()).toEqual([a.ip, b.ip, c.ip]);
      const created = await call("POST", "/api/types/Volume/instances", auth, {
        volumeSizeInKb: String(9 * 1024 * 1024),
        volumeType: "ThinProvisioned",
        storagePoolId: pools[0].id,
        name: "rest-vol",
      });
      expect(created.status).toBe(200);
      const id = (created.body as { id: string }).id;
      const sdcC = sdcs.find((s) => s.sdcIp === c.ip)!;
      expect(
        (
          await call("POST", `/api/instances/Volume::${id}/action/addMappedSdc`, auth, {
            sdcId: sdcC.id,
            allowMultipleMappings: "FALSE",
          })
        ).status,
      ).toBe(200);
      const vol = (await call("GET", `/api/instances/Volume::${id}`, auth)).body as Record<
        string,
        unknown
      >;
      expect(vol).toMatchObject({
        sizeInKb: 16 * 1024 * 1024,
        volumeType: "ThinProvisioned",
        mappedSdcInfo: [expect.objectContaining({ sdcIp: c.ip })],
      });
      const again = await call("POST", `/api/instances/Volume::${id}/action/addMappedSdc`, auth, {
        sdcId: sdcs.find((s) => s.sdcIp === b.ip)!.id,
      });
      expect(again.status).toBe(500);
      expect(JSON.stringify(again.body)).toMatch(/allow_multi_map/);
      await until(
        "device on c",
        () => hostExec(c, `readlink /dev/disk/by-id/emc-vol-${systemId}-${id}`),
        (r) => r.stdout.trim() === "../../scinia",
      );
      expect((await call("GET", "/api/types/Volume/instances", ":not-a-token")).status).toBe(401);
    });
  });

  it("removes volumes only when unmapped and confirmed, and SDSs only with room left", async () => {
    expectFail(
      await scli(a, `--remove_volume --volume_name vol1 --i_am_sure ${both()}`),
      7,
      /mapped to 1 SDC\(s\); unmap it first/,
    );
    expectOk(
      await scli(a, `--unmap_volume_from_sdc --volume_name vol1 --sdc_ip ${a.ip} ${both()}`),
    );
    expectFail(
      await hostExec(a, `scli --remove_volume --volume_name vol1 ${both()} </dev/null`),
      1,
      /Add --i_am_sure to confirm/,
    );
    expectOk(await scli(a, `--remove_volume --volume_name vol1 --i_am_sure ${both()}`));
    await until(
      "device gone on a",
      () => hostExec(a, "ls /dev/scinia"),
      (r) => r.code !== 0,
    );
    expectFail(
      await scli(a, `--remove_sds --sds_name nope ${both()}`),
      7,
      /Could not find the SDS/,
    );
    expect(expectOk(await scli(a, `--remove_sds --sds_name sds3 ${both()}`))).toMatch(
      /will be removed/,
    );
  });

  it("3.x requires --media_type for a storage pool", async () => {
    expect(
      (await hostExec(d, "MDM_ROLE_IS_MANAGER=1 rpm -i /rpms/EMC-ScaleIO-mdm-3.6-*.rpm")).code,
    ).toBe(0);
    startService(d, "mdm");
    await until(
      "MDM on d",
      () =>
        hostExec(
          d,
          `scli --create_mdm_cluster --master_mdm_ip ${d.ip} --master_mdm_name m --accept_license --approve_certificate`,
        ),
      (r) => r.code === 0,
    );
    await until(
      "login on d",
      () => scli(d, "--login --username admin --password admin --approve_certificate"),
      (r) => r.code === 0,
    );
    expectOk(await scli(d, `--set_password --old_password admin --new_password ${PASSWORD}`));
    expectOk(await scli(d, `--login --username admin --password ${PASSWORD}`));
    expectOk(await scli(d, "--add_protection_domain --protection_domain_name pd1"));
    expectFail(
      await scli(d, "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
      1,
      /--media_type is required/,
    );
    expectOk(
      await scli(
        d,
        "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1 --media_type HDD",
      ),
    );
    expect(expectOk(await scli(d, "--query_cluster"))).toMatch(
      /Mode: 1_node, State: Normal, Active: 1\/1, Replicas: 1\/1\n[\s\S]*Version: 3\.6\.700/,
    );
  });
});

// Part 2: the same packages on the lab's systemd hosts, everything typed over SSH as a person
// (or the installer) would: %post starts the services, scli builds the cluster.
describe("ScaleIO emulator on lab hosts over SSH", () => {
  let lab: Lab | undefined;
  const ssh = new Map<string, Client>();
  const times: Record<string, number> = {};

  const run = (host: string, cmd: string) => sshExec(ssh.get(host)!, cmd);
  const put = (host: string, local: string, remote: string) =>
    sshPut(ssh.get(host)!, local, remote);

  beforeAll(async () => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "emu-lab-rpms-"));
    const rpms = await buildEmulatorRpms({ version: V3, dist: "el7", outDir });
    let t = Date.now();
    lab = await startLab({ name: "emutest", hosts: 3, os: "centos7" });
    times.startLab = Date.now() - t;
    t = Date.now();
    for (const h of lab.hosts) {
      ssh.set(h.name, await sshConnect(h, lab.privateKey));
      expectOk(await run(h.name, "mkdir -p /root/rpms"));
      for (const f of rpms) await put(h.name, f, `/root/rpms/${path.basename(f)}`);
    }
    times.copyRpms = Date.now() - t;
  });

  let outDir = "";

  afterAll(async () => {
    for (const c of ssh.values()) c.end();
    await lab?.down();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
    console.log("emulator lab timings (ms):", JSON.stringify(times));
  });

  it("installs over SSH, %post starts the services, and scli builds a 3-node cluster", async () => {
    const [n1, n2, n3] = lab!.hosts;
    const ips = `${n1.privateAddress},${n2.privateAddress}`;
    let t = Date.now();
    for (const [h, role] of [
      [n1, 1],
      [n2, 1],
      [n3, 0],
    ] as const) {
      expectOk(
        await run(
          h.name,
          `cd /root/rpms && MDM_ROLE_IS_MANAGER=${role} rpm -i EMC-ScaleIO-mdm-*.rpm && rpm -i EMC-ScaleIO-sds-*.rpm && MDM_IP=${ips} rpm -i EMC-ScaleIO-sdc-*.rpm`,
        ),
      );
    }
    expectOk(
      await run(
        n1.name,
        "cd /root/rpms && GATEWAY_ADMIN_PASSWORD=Gateway-1 rpm -i EMC-ScaleIO-gateway-*.rpm",
      ),
    );
    times.install = Date.now() - t;
    for (const h of lab!.hosts) {
      await until(
        `services on ${h.name}`,
        () => run(h.name, "systemctl is-active mdm sds scini"),
        (r) => r.code === 0,
        120_000,
      );
      expect((await run(h.name, "systemctl is-enabled mdm sds scini")).stdout).toBe(
        "enabled\nenabled\nenabled\n",
      );
    }
    expectFail(await run(n1.name, "rpm -e EMC-ScaleIO-sds"), 1, /Set I_AM_SURE=1 to uninstall/);

    t = Date.now();
    const sc = (args: string) => run(n1.name, `scli ${args}`);
    expect(
      expectOk(
        await sc(
          `--create_mdm_cluster --master_mdm_ip ${n1.privateAddress} --master_mdm_management_ip ${n1.privateAddress} --master_mdm_name mdm1 --accept_license --approve_certificate`,
        ),
      ),
    ).toMatch(/Successfully created the MDM Cluster/);
    await until(
      "login",
      () => sc("--login --username admin --password admin --approve_certificate"),
      (r) => r.code === 0,
    );
    expectOk(await sc(`--set_password --old_password admin --new_password ${PASSWORD}`));
    expectOk(await sc(`--login --username admin --password ${PASSWORD}`));
    expectOk(
      await sc(
        `--add_standby_mdm --new_mdm_ip ${n2.privateAddress} --mdm_role manager --new_mdm_management_ip ${n2.privateAddress} --new_mdm_name mdm2`,
      ),
    );
    expectOk(
      await sc(
        `--add_standby_mdm --new_mdm_ip ${n3.privateAddress} --mdm_role tb --new_mdm_name tb1`,
      ),
    );
    expectOk(
      await sc(
        "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name mdm2 --add_tb_name tb1",
      ),
    );
    // 3.x layout (README, "Layouts"): `IP Addresses:` keys, a Status line on the master.
    const cluster3 = expectOk(await sc(`--query_cluster --mdm_ip ${ips}`));
    expect(cluster3).toMatch(
      /^Cluster:\n {4}Mode: 3_node, State: Normal, Active: 3\/3, Replicas: 2\/2\n {4}SDC refresh with MDM IP addresses: disabled\n/,
    );
    expect(cluster3).toMatch(
      /Master MDM:\n.*\n {8}IP Addresses: .*\n {8}Status: Normal, Version: 3\.6\.700\n/,
    );
    expectOk(await sc("--add_protection_domain --protection_domain_name pd1"));
    expectFail(
      await sc("--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1"),
      1,
      /--media_type is required/,
    );
    expectOk(
      await sc(
        "--add_storage_pool --protection_domain_name pd1 --storage_pool_name sp1 --media_type HDD",
      ),
    );
    for (const [i, h] of lab!.hosts.entries()) {
      expectOk(
        await sc(
          `--add_sds --sds_ip ${h.privateAddress} --device_path ${h.dataDisks[0]} --sds_name sds${i + 1} --protection_domain_name pd1 --storage_pool_name sp1`,
        ),
      );
    }
    const vol = expectOk(
      await sc(
        "--add_volume --protection_domain_name pd1 --storage_pool_name sp1 --size_gb 8 --volume_name docker1",
      ),
    );
    const volId = /Object ID ([0-9a-f]{16})/.exec(vol)![1];
    await until(
      "SDC of node1",
      () => sc("--query_all_sdc"),
      (r) => r.stdout.includes(`IP: ${n1.privateAddress} `),
    );
    expectOk(await sc(`--map_volume_to_sdc --volume_name docker1 --sdc_ip ${n1.privateAddress}`));
    times.cluster = Date.now() - t;

    const sys = /System ID is ([0-9a-f]{16})/.exec(
      expectOk(await sc(`--login --username admin --password ${PASSWORD}`)),
    )![1];
    const link = `/dev/disk/by-id/emc-vol-${sys}-${volId}`;
    await until(
      "block device",
      () => run(n1.name, `/opt/emc/scaleio/sdc/bin/drv_cfg --rescan && readlink ${link}`),
      (r) => r.stdout.trim() === "../../scinia",
    );
    expectOk(
      await run(
        n1.name,
        `mkfs.ext4 -q ${link} && mkdir -p /mnt/v && mount /dev/scinia /mnt/v && echo lab > /mnt/v/proof && umount /mnt/v`,
      ),
    );
    expectOk(await run(n1.name, "systemctl restart scini"));
    const data = await until(
      "data after scini restart",
      () => run(n1.name, "mount /dev/scinia /mnt/v && cat /mnt/v/proof && umount /mnt/v"),
      (r) => r.code === 0,
    );
    expect(data.stdout).toBe("lab\n");

    // The gateway, configured like an installer would, answers from the live cluster.
    const props = "/opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties";
    expectOk(
      await run(
        n1.name,
        `sed -i -e 's/^mdm.ip.addresses=.*/mdm.ip.addresses=${ips}/' -e 's/^security.bypass_certificate_check=.*/security.bypass_certificate_check=true/' ${props} && systemctl restart scaleio-gateway`,
      ),
    );
    const gw = await until(
      "gateway login",
      () =>
        run(
          n1.name,
          `python3 - <<'PY'\nimport base64, json, os, ssl, urllib.request\nctx = ssl.create_default_context(cafile="/opt/emc/scaleio/gateway/conf/certificates/gateway.crt")\nctx.check_hostname = False\ndef get(path, user, pw):\n    req = urllib.request.Request("https://${n1.privateAddress}" + path, headers={"Authorization": "Basic " + base64.b64encode((user + ":" + pw).encode()).decode()})\n    return json.load(urllib.request.urlopen(req, context=ctx))\ntoken = get("/api/login", "admin", os.environ.get("PW", "${PASSWORD}"))\nprint(json.dumps([v["name"] for v in get("/api/types/Volume/instances", "", token)]))\nPY`,
        ),
      (r) => r.code === 0,
      60_000,
    );
    expect(gw.stdout).toBe('["docker1"]\n');
  });
});
