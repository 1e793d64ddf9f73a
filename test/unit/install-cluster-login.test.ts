// The cluster stage's login and create decisions against a scripted MDM that answers with the
// real messages and layouts (test/fixtures/scli): no cluster yet is concluded, never thrown; a
// refused password is reported at once with the vendor's words; only transient failures are
// waited on; a cluster is never created on an MDM that did not say it has no system.
import { readFileSync } from "fs";
import { join } from "path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { InstallContext, ScliError } from "../../src/install/context";
import type { RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import type { ExecResult } from "../../src/install/ssh";
import { formCluster, login, LOGIN_WAIT_MS } from "../../src/install/stages/cluster";
import type { Machine } from "../../src/machine";
import { ScriptedHosts } from "./support/scripted-hosts";

const fixture = (f: string) => readFileSync(join(__dirname, "..", "fixtures", "scli", f), "utf8");

const machine = (i: number, mdm: Machine["mdm"]): Machine => ({
  name: `node${i}`,
  mdm,
  services: ["sds", "sdc"],
  sshHost: "127.0.0.1",
  sshPort: 22,
  sshUser: "root",
  publicAddress: `10.10.40.${110 + i}`,
  privateAddress: `10.10.40.${110 + i}`,
  dataDisks: ["/dev/vdb"],
  os: "centos7",
});

interface Mdm {
  /** What a login answers while the MDM has no system. */
  noSystem: string;
  cluster: boolean;
  password: "default" | "configured";
  /** Answer of --set_password (exit 7 when it starts with "Error"). */
  setPassword: string;
  queryCluster: string;
  systemName: string;
  commands: string[];
}

function scripted(mdm: Mdm, mdmPassword = "Lab-Mdm-Pw1", more: Partial<InstallSpec> = {}) {
  const spec: InstallSpec = {
    machines: [machine(1, "master"), machine(2, "slave"), machine(3, "tiebreaker")],
    ...more,
    privateKey: "unused",
    os: "centos7",
    rpmDir: "unused",
    clusterName: "lab",
    protectionDomain: "pd1",
    storagePool: "sp1",
    mediaType: "HDD",
    dockerVolumeGb: 8,
    mdmPassword,
    gatewayPassword: "Gw-pass1",
  };
  const answer = (line: string): ExecResult => {
    mdm.commands.push(line);
    const ok = (stdout: string) => ({ code: 0, stdout, stderr: "" });
    const err = (stdout: string, code = 7) => ({ code, stdout, stderr: "" });
    if (line.includes("--login")) {
      if (!mdm.cluster) return err(mdm.noSystem, /no MDM answers/.test(mdm.noSystem) ? 1 : 7);
      const usesDefault = line.includes("$MDM_DEFAULT_PASSWORD");
      if (usesDefault === (mdm.password === "default")) return ok(fixture("3.6/login.txt"));
      return err("Error: MDM failed command.  Status: Invalid username or password");
    }
    if (line.includes("--set_password")) {
      if (mdm.setPassword.startsWith("Error")) return err(mdm.setPassword);
      mdm.password = "configured";
      return ok(mdm.setPassword);
    }
    if (line.includes("--create_mdm_cluster")) {
      mdm.cluster = true;
      return ok("Successfully created the MDM Cluster");
    }
    // A node's MDM package (day 2: a node that lost its MDM role).
    if (line.startsWith("rpm -q EMC-ScaleIO-mdm")) return ok("EMC-ScaleIO-mdm-3.0-100.el7");
    if (line.includes("rpm -e EMC-ScaleIO-mdm")) return ok("");
    if (!mdm.cluster) return err(mdm.noSystem);
    if (line.includes("--query_cluster")) return ok(mdm.queryCluster);
    if (line.includes("--query_all ") || line.includes("--query_all<"))
      return ok(`System Info:\n\tID:      60dda64f1574400f\n\tName:    ${mdm.systemName}\n`);
    if (line.includes("--query_all_")) return ok("");
    return err(`Error: unexpected command in this test: ${line}`, 2);
  };
  const hosts = new ScriptedHosts((_host, line) => answer(line));
  const ctx = new InstallContext(
    spec,
    { dialect: "3.x" } as RpmSet,
    { log: () => undefined },
    hosts,
  );
  return ctx;
}

const mdm = (o: Partial<Mdm> = {}): Mdm => ({
  noSystem: fixture("messages/unclustered-2.0.1.txt"),
  cluster: false,
  password: "default",
  setPassword: "Password changed successfully",
  queryCluster: fixture("3.6/query_cluster.txt"),
  systemName: "lab",
  commands: [],
  ...o,
});
const ran = (m: Mdm, flag: string) => m.commands.filter((c) => c.includes(flag)).length;

afterEach(() => {
  vi.useRealTimers();
});

describe("login on an MDM without a system (issue 11 case 2)", () => {
  it.each([
    ["2.0.1+", "messages/unclustered-2.0.1.txt"],
    ["2.0", "messages/unclustered-2.0.txt"],
  ])("%s: concludes 'no cluster yet' instead of throwing", async (_v, f) => {
    const m = mdm({ noSystem: fixture(f) });
    await expect(login(scripted(m), "node1", "MdmCluster")).resolves.toBeUndefined();
    expect(ran(m, "--set_password")).toBe(0);
  });
});

describe("the vendor's message at once (issue 11 case 6)", () => {
  it("an MDM that refuses the new password: reported at once with host, step, command and its words", async () => {
    const refusal =
      "Error: MDM failed command.  Status: The new password does not meet the requirements";
    const m = mdm({ cluster: true, setPassword: refusal });
    const started = Date.now();
    const e = await login(scripted(m), "node1", "MdmCluster").catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ScliError);
    expect((e as Error).message).toMatch(
      /^\[node1\] MdmCluster: printf .* \| scli --set_password .* failed \(exit 7\): Error: MDM failed command\. {2}Status: The new password does not meet the requirements\. The MDM refused the new admin password \(mdmPassword\); its rule is 6-31 characters/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(ran(m, "--set_password")).toBe(1);
  });
  it("a password with a space is refused before it is sent, naming the rule", async () => {
    const m = mdm({ cluster: true });
    await expect(login(scripted(m, "Bad Passw0rd!"), "node1", "MdmCluster")).rejects.toThrow(
      /^\[node1\] MdmCluster: mdmPassword cannot be set on the MDM: it contains a space; the MDM requires 6-31 characters, no spaces/,
    );
    expect(ran(m, "--set_password")).toBe(0);
  });
  it("a certificate question or an unknown refusal is not retried", async () => {
    for (const text of [
      fixture("messages/login-certificate-prompt.txt").replace(/Logged in.*\n/, ""),
      "Error: MDM failed command.  Status: Something the installer does not know",
    ]) {
      const m = mdm({ noSystem: text });
      await expect(login(scripted(m), "node1", "MdmCluster")).rejects.toBeInstanceOf(ScliError);
      expect(ran(m, "--login")).toBe(1);
    }
  });
});

describe("create only on 'no system'", () => {
  it("an MDM that does not answer is waited on, then reported; no cluster is created", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const m = mdm({
      noSystem: "Error: Failed to connect to MDM 10.10.40.111: no MDM answers at 10.10.40.111",
    });
    const p = formCluster(scripted(m)).catch((x: unknown) => x);
    for (let t = 0; t < LOGIN_WAIT_MS + 20_000; t += 5000) await vi.advanceTimersByTimeAsync(5000);
    const e = await p;
    expect(e).toBeInstanceOf(ScliError);
    expect((e as Error).message).toMatch(
      /^\[node1\] MdmCluster: printf .* \| scli --login .*no MDM answers at 10\.10\.40\.111\. No MDM answered for 120 s/,
    );
    expect(ran(m, "--create_mdm_cluster")).toBe(0);
    expect(ran(m, "--login")).toBeGreaterThan(5);
  });
  it("a fresh MDM: created, password set, standbys added, switched", async () => {
    const m = mdm({ systemName: "N/A" });
    const ctx = scripted(m);
    // After the create the MDM lists only itself until the standbys are added.
    m.queryCluster =
      "Cluster:\n    Mode: 1_node, State: Normal\nMaster MDM:\n    ID: 0x7cbb59a95d6dcb00\n        IP Addresses: 10.10.40.111, Port: 9011\n";
    const hosts = ctx.hosts as ScriptedHosts;
    const answer = hosts.answer;
    const oneNode = m.queryCluster;
    const standbys: string[] = [];
    hosts.answer = async (h, c) => {
      const ip = /--new_mdm_ip (\S+)/.exec(c)?.[1];
      if (ip) {
        // 2.0-style standby entries (the trailing role), in the 3.6 key spelling.
        standbys.push(
          `    ID: 0x${standbys.length + 2}, ${c.includes("--mdm_role tb") ? "Tie Breaker" : "Manager"}\n        IP Addresses: ${ip}, Port: 9011`,
        );
        m.queryCluster = `${oneNode}Standby MDMs:\n${standbys.join("\n")}\n`;
      }
      if (c.includes("--switch_cluster_mode")) m.queryCluster = fixture("3.6/query_cluster.txt");
      const r = await answer(h, c);
      if (
        c.includes("--add_standby_mdm") ||
        c.includes("--switch_cluster_mode") ||
        c.includes("--rename_system")
      )
        return { code: 0, stdout: "Successfully done", stderr: "" };
      return r;
    };
    await expect(formCluster(ctx)).resolves.toMatchObject({
      systemId: "60dda64f1574400f",
      mode: "3_node",
    });
    expect(ran(m, "--create_mdm_cluster")).toBe(1);
    expect(ran(m, "--set_password")).toBe(1);
    expect(
      m.commands
        .filter((c) => c.includes("--add_standby_mdm"))
        .map((c) => /--new_mdm_ip (\S+)/.exec(c)?.[1]),
    ).toEqual(["10.10.40.112", "10.10.40.113"]);
    expect(m.commands.find((c) => c.includes("--switch_cluster_mode"))).toContain(
      "--cluster_mode 3_node --add_slave_mdm_name node2 --add_tb_name node3",
    );
    // Every command carries all manager addresses and the certificate approval; none waits on
    // stdin: it is closed, or (login, set_password) a pipe holding only the passwords.
    for (const c of m.commands) {
      expect(c).toContain("--mdm_ip 10.10.40.111,10.10.40.112");
      expect(c).toContain("--approve_certificate");
      const piped = /^printf '%s\\n' ("\$[A-Z_]+" ?)+\| scli --(login|set_password) /.test(c);
      expect(piped || c.trimEnd().endsWith("</dev/null"), c).toBe(true);
      expect(c).not.toMatch(/--password|--old_password|--new_password/);
    }
  });
  it("a re-run against an existing 3.6 cluster (IDs only) changes nothing", async () => {
    const m = mdm({ cluster: true, password: "configured" });
    const ctx = scripted(m);
    await expect(formCluster(ctx)).resolves.toMatchObject({ mode: "3_node", state: "Normal" });
    expect(ctx.changes).toEqual([]);
    expect(ran(m, "--create_mdm_cluster") + ran(m, "--add_standby_mdm") + ran(m, "--switch")).toBe(
      0,
    );
  });
  it("a node that lost its MDM role and is no longer listed loses its MDM package (an interrupted 5 -> 3)", async () => {
    const m = mdm({ cluster: true, password: "configured" });
    const node4 = { ...machine(4, undefined), services: ["sds", "sdc"] as Machine["services"] };
    const ctx = scripted(m, "Lab-Mdm-Pw1", {
      machines: [machine(1, "master"), machine(2, "slave"), machine(3, "tiebreaker"), node4],
      demoted: ["node4"],
    });
    await expect(formCluster(ctx)).resolves.toMatchObject({ mode: "3_node", state: "Normal" });
    expect(m.commands.filter((c) => c.includes("rpm -e EMC-ScaleIO-mdm"))).toHaveLength(1);
    expect(ran(m, "--remove_standby_mdm") + ran(m, "--switch")).toBe(0);
  });
});
