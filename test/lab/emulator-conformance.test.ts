// The emulator against command sequences written the way public automation writes them
// (test/emulator/conformance.ts names the sources), on three lab hosts with the 3.6 el7
// packages; then the files the vendor's packages lay down, and the opt-in knob that moves the
// master during a build. Needs root (systemd-nspawn lab hosts).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Client } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import { type ConformanceStep, pattern, fill, SCENARIOS, type Vars } from "../emulator/conformance";
import { type Lab, type LabHost, startLab } from "./hosts";
import { requireRoot, sshConnect, sshExec, sshPut } from "./fixtures";

const VERSION = "3.6-700.103";
const VERSION_20 = "2.0-5014.0";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

requireRoot();

describe("ScaleIO emulator conformance with public automation (lab hosts)", () => {
  let lab: Lab | undefined;
  let outDir = "";
  const ssh = new Map<string, Client>();
  const times: Record<string, number> = {};
  let hosts: LabHost[] = [];
  /** A fourth host with the 2.0 (build 5014) MDM package: the oldest layout. */
  let old: LabHost;
  let vars: Vars = {};

  /** Run cmd as root over SSH with stdin closed (nothing may wait on a prompt). */
  const run = (host: LabHost, cmd: string) =>
    sshExec(ssh.get(host.name)!, cmd, { closeStdin: true });
  const put = (host: LabHost, local: string, remote: string) =>
    sshPut(ssh.get(host.name)!, local, remote);
  const must = async (host: LabHost, cmd: string) => {
    const r = await run(host, cmd);
    expect(r.code, `${cmd} on ${host.name}:\n${r.stderr}${r.stdout}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    let t = Date.now();
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), "emu13-rpms-"));
    const rpms = await buildEmulatorRpms({ version: VERSION, dist: "el7", outDir });
    const rpms20 = await buildEmulatorRpms({
      version: VERSION_20,
      dist: "el7",
      outDir: path.join(outDir, "2.0"),
      components: ["mdm"],
    });
    lab = await startLab({
      name: "emu13",
      hosts: 4,
      os: "centos7",
      dataDisks: { count: 2, sizeGb: 120 },
    });
    hosts = lab.hosts.slice(0, 3);
    old = lab.hosts[3];
    times.startLab = Date.now() - t;
    t = Date.now();
    for (const h of lab.hosts) {
      ssh.set(h.name, await sshConnect(h, lab.privateKey));
      await must(h, "mkdir -p /root/rpms");
      for (const f of h === old ? rpms20 : rpms) {
        await put(h, f, `/root/rpms/${path.basename(f)}`);
      }
    }
    await must(old, "cd /root/rpms && MDM_ROLE_IS_MANAGER=1 rpm -i EMC-ScaleIO-mdm-*.rpm");
    const [a, b, c] = hosts;
    vars = {
      A: a.privateAddress,
      B: b.privateAddress,
      C: c.privateAddress,
      PASSWORD: "Conform-1x",
      VIP: "192.0.2.20",
      VERSION: "R3_6.700.103",
    };
    // As the sources install: managers and tie-breaker by MDM_ROLE_IS_MANAGER; the SDC on C
    // without MDM_IP (its drv_cfg.txt is edited later, as samli008/scaleio scaleio.txt does).
    for (const [h, role, mdmIp] of [
      [a, 1, `${vars.A},${vars.B}`],
      [b, 1, `${vars.A},${vars.B}`],
      [c, 0, ""],
    ] as const) {
      await must(
        h,
        `cd /root/rpms && MDM_ROLE_IS_MANAGER=${role} rpm -i EMC-ScaleIO-mdm-*.rpm && rpm -i EMC-ScaleIO-sds-*.rpm && MDM_IP=${mdmIp} rpm -i EMC-ScaleIO-sdc-*.rpm`,
      );
    }
    await must(
      a,
      "cd /root/rpms && GATEWAY_ADMIN_PASSWORD=Gateway-1 rpm -i EMC-ScaleIO-gateway-*.rpm",
    );
    for (const h of lab.hosts) {
      const end = Date.now() + 120_000;
      const units = h === old ? "mdm" : "mdm sds scini";
      while ((await run(h, `systemctl is-active ${units}`)).code !== 0) {
        if (Date.now() > end) throw new Error(`services did not start on ${h.name}`);
        await sleep(500);
      }
    }
    times.install = Date.now() - t;
  });

  afterAll(async () => {
    for (const c of ssh.values()) c.end();
    await lab?.down();
    if (outDir) fs.rmSync(outDir, { recursive: true, force: true });
    console.log("emulator conformance timings (ms):", JSON.stringify(times));
  });

  it("lays down the files automation edits and reads, at the vendor's paths", async () => {
    const [a, , c] = hosts;
    expect(await must(a, "cat /opt/emc/scaleio/mdm/cfg/conf.txt")).toMatch(
      /^actor_role_is_manager=1$/m,
    );
    expect(await must(c, "cat /opt/emc/scaleio/mdm/cfg/conf.txt")).toMatch(
      /^actor_role_is_manager=0$/m,
    );
    expect(await must(a, "cat /etc/emc/scaleio/drv_cfg.txt")).toMatch(
      new RegExp(`^mdm ${vars.A.replace(/\./g, "\\.")},${vars.B.replace(/\./g, "\\.")}$`, "m"),
    );
    expect(await must(c, "cat /etc/emc/scaleio/drv_cfg.txt")).not.toMatch(/^mdm /m);
    expect(
      await must(
        a,
        "cat /opt/emc/scaleio/gateway/webapps/ROOT/WEB-INF/classes/gatewayUser.properties",
      ),
    ).toMatch(/^mdm\.ip\.addresses=$/m);
    expect(await must(a, "readlink /usr/bin/scli")).toBe("/opt/emc/scaleio/mdm/bin/cli\n");
    // Driver sync, edited and run the way thecodeteam/puppet-scaleio manifests/driver_sync.pp does
    // (`key=value` lines in driver_sync.conf, then `update_driver_cache.sh && verify_driver.sh`).
    const sync = "/bin/emc/scaleio/scini_sync";
    expect(await must(a, `cat ${sync}/driver_sync.conf`)).toMatch(/^repo_address=.+$/m);
    await must(
      a,
      `sed -i 's|^repo_address=.*|repo_address=sftp://repo.example.test|; s|^local_dir=.*|local_dir=/var/tmp/scini-cache/|' ${sync}/driver_sync.conf`,
    );
    expect(await must(a, `cd ${sync} && ./update_driver_cache.sh && ./verify_driver.sh`)).toMatch(
      /no kernel module to fetch from sftp:\/\/repo\.example\.test\n.*scini is loaded/,
    );
    await must(a, "test -d /var/tmp/scini-cache");
    await must(a, `sed -i 's|^repo_address=.*|repo_address=|' ${sync}/driver_sync.conf`);
    const noRepo = await run(a, `${sync}/update_driver_cache.sh`);
    expect(noRepo.code).toBe(1);
    expect(noRepo.stderr).toMatch(/repo_address is not set in .*driver_sync\.conf/);
    expect(await must(a, "test -x /opt/emc/scaleio/sdc/bin/drv_cfg && echo yes")).toBe("yes\n");
  });

  async function runStep(step: ConformanceStep): Promise<void> {
    const host = hosts[step.on ?? 0];
    const cmd = fill(step.sh, vars);
    const want = step.code ?? 0;
    const end = Date.now() + (step.retryMs ?? 0);
    const check = async (): Promise<string | undefined> => {
      const r = await run(host, cmd);
      const out = r.stdout + r.stderr;
      if (r.code !== want) return `exit ${r.code}, expected ${want}:\n${out}`;
      for (const p of step.out ?? []) {
        if (!pattern(p, vars).test(out)) return `output does not match ${p}:\n${out}`;
      }
      for (const q of step.state ?? []) {
        const s = await run(hosts[0], fill(q.sh, vars));
        if (s.code !== 0) return `state query ${q.sh} failed (${s.code}):\n${s.stderr}${s.stdout}`;
        for (const p of q.match) {
          if (!pattern(p, vars).test(s.stdout)) {
            return `MDM state after the step: ${q.sh} does not match ${p}:\n${s.stdout}`;
          }
        }
      }
      return undefined;
    };
    for (;;) {
      const problem = await check();
      if (!problem) return;
      if (Date.now() > end) {
        throw new Error(`step "${step.title}" (${cmd} on ${host.name}): ${problem}`);
      }
      await sleep(1000);
    }
  }

  for (const scenario of SCENARIOS) {
    it(`replays: ${scenario.name}`, async () => {
      const t = Date.now();
      expect(scenario.sources.length).toBeGreaterThan(0);
      for (const step of scenario.steps) await runStep(step);
      times[scenario.name] = Date.now() - t;
    });
  }

  it("a 2.0 MDM (build 5014) answers and prints in its own version's way", async () => {
    const t = Date.now();
    const ip = old.privateAddress;
    // swisscom/puppet-scaleio lib/facter/scaleio_mdm_clustersetup_needed.rb greps for this.
    const fresh = await run(old, "scli --query_cluster --approve_certificate 2>&1");
    expect(fresh.code).toBe(7);
    expect(fresh.stdout).toBe(
      "Error: MDM failed command.  Status: The MDM cluster state is incorrect\n",
    );
    expect(await must(old, "scli --version")).toBe("EMC ScaleIO Version: R2_0.5014.0\n");
    await must(
      old,
      `scli --create_mdm_cluster --master_mdm_ip ${ip} --master_mdm_name m1 --accept_license --approve_certificate`,
    );
    const end = Date.now() + 30_000;
    while ((await run(old, "scli --login --username admin --password admin")).code !== 0) {
      if (Date.now() > end) throw new Error("the 2.0 MDM did not accept a login");
      await sleep(500);
    }
    await must(old, "printf 'admin\\nConform-1x\\n' | scli --set_password");
    await must(old, "scli --login --username admin --password Conform-1x");
    // The 2.0.5014 layout: no virtual IP parts, `IPs:` keys, master with a Version line only.
    const lines = (await must(old, "scli --query_cluster")).split("\n");
    expect(lines[3]).toMatch(/^ {4}Name: m1, ID: 0x[0-9a-f]{16}$/);
    lines[3] = "<name and id>";
    expect(lines).toEqual([
      "Cluster:",
      "    Mode: 1_node, State: Normal, Active: 1/1, Replicas: 1/1",
      "Master MDM:",
      "<name and id>",
      `        IPs: ${ip}, Management IPs: ${ip}, Port: 9011`,
      "        Version: 2.0.5014",
      "",
    ]);
    times.v20 = Date.now() - t;
  });

  it("moves the master to a new manager at --add_standby_mdm when the knob asks for it", async () => {
    const t = Date.now();
    const [a] = hosts;
    const both = `--mdm_ip ${vars.A},${vars.B}`;
    // Back to one node, B out of the cluster, then B added again with the knob set on A.
    await must(
      a,
      `scli --switch_cluster_mode --cluster_mode 1_node --remove_slave_mdm_ip ${vars.B} --remove_tb_ip ${vars.C} ${both}`,
    );
    await must(a, `scli --remove_standby_mdm --remove_mdm_ip ${vars.B} ${both}`);
    await must(
      a,
      "mkdir -p /etc/scaleio-emu && echo master_moves_on_add_standby=1 > /etc/scaleio-emu/knobs",
    );
    expect(
      await must(
        a,
        `scli --add_standby_mdm --new_mdm_ip ${vars.B} --mdm_role manager --new_mdm_name mdm2 ${both}`,
      ),
    ).toMatch(/Successfully added a standby MDM/);
    let out = "";
    const end = Date.now() + 30_000;
    for (;;) {
      const r = await run(a, `scli --query_cluster ${both}`);
      out = r.stdout;
      if (r.code === 0 && /Master MDM:\n {4}Name: mdm2, /.test(out)) break;
      if (Date.now() > end) throw new Error(`B did not become the master:\n${r.stderr}${out}`);
      await sleep(500);
    }
    // A is now a standby manager; a tool that hard-coded A alone is told so.
    expect(out).toMatch(
      new RegExp(
        `Standby MDMs:\\n {4}Name: cluster1, ID: 0x[0-9a-f]+, Manager\\n {8}IP Addresses: ${vars.A.replace(/\./g, "\\.")},`,
      ),
    );
    const alone = await run(a, `scli --query_cluster --mdm_ip ${vars.A}`);
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/is not the master MDM/);
    // Sessions and data survived the move.
    expect(await must(a, `scli --query_all_sds ${both}`)).toMatch(/returned 3 SDS nodes/);
    await must(a, "rm /etc/scaleio-emu/knobs");
    times.masterMove = Date.now() - t;
  });
});
