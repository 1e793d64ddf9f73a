// `pulumi refresh`'s probes (src/install/observe/) on the scripted runner: each finds nothing on
// a host as the stages left it, names each hand change as drift ("<node>: <what>"), asks only
// read-only commands (a change is refused by the read-only run before the runner sees it), logs
// in with the configured password only, and turns a host that does not answer into drift
// instead of failing. The scli answers are in the 2.x layouts of test/fixtures/scli.
import { createHash } from "crypto";
import { describe, expect, it } from "vitest";
import { InstallContext, ReadOnlyError } from "../../src/install/context";
import type { RpmFile, RpmSet } from "../../src/install/rpms";
import type { InstallSpec } from "../../src/install/spec";
import { failureDrift, observeWith, type Probe } from "../../src/install/observe";
import {
  observeMdmCluster,
  observeStorage,
  observeVerification,
} from "../../src/install/observe/cluster";
import { observeDockerVolume } from "../../src/install/observe/docker";
import { observeHostPackages, observeHostPrep } from "../../src/install/observe/hosts";
import {
  observeGateway,
  observeVolumePlugin,
  type PluginSettingsOf,
} from "../../src/install/observe/services";
import { dockerUnitFiles } from "../../src/install/stages/docker";
import { pluginConfigText, pluginUnitText } from "../../src/install/stages/volume-plugin";
import { testSpec } from "./support/machines";
import { fail, ok, ScriptedHosts, type Answer } from "./support/scripted-hosts";

const MDM_PW = "Obs-Mdm-Pw1";
const SYSTEM = "78221ddb0dcff2f5";
const sha = (t: string) => createHash("sha256").update(t).digest("hex");

const spec: InstallSpec = testSpec({
  clusterName: "obs",
  mdmPassword: MDM_PW,
  gatewayPassword: "Obs-Gw-Pw1",
  volumePluginBinary: { path: "/cache/plugin", sha256: "b".repeat(64) },
});

const rpm = (c: string): RpmFile =>
  ({ name: `EMC-ScaleIO-${c}`, versionRelease: "2.0-14000.231.el7" }) as RpmFile;
const rpms = {
  dialect: "2.x",
  dist: "el7",
  dir: "/rpms",
  packages: { mdm: rpm("mdm"), sds: rpm("sds"), sdc: rpm("sdc"), gateway: rpm("gateway") },
} as unknown as RpmSet;

const context = (answer: Answer) => {
  const hosts = new ScriptedHosts(answer);
  const ctx = new InstallContext(spec, rpms, { log: () => undefined, readOnly: true }, hosts);
  return { hosts, ctx };
};

// --- what healthy hosts answer (2.x layouts) ---
const LOGIN = `Logged in. User role is SuperUser. System ID is ${SYSTEM}\n`;
const mdmLine = (i: number, id: string, status = "Normal") =>
  `    Name: node${i}, ID: 0x${id}\n        IPs: 10.0.0.${i}, Management IPs: 10.0.0.${i}, Port: 9011\n` +
  `        Status: ${status}, Version: 2.0.14000\n`;
const cluster = (state = "Normal", tbStatus = "Normal") =>
  `Cluster:\n    Mode: 3_node, State: ${state}, Active: 3/3, Replicas: 2/2\n` +
  `Master MDM:\n${mdmLine(1, "1ed68652078a0ab1")}Slave MDMs:\n${mdmLine(2, "44691e69695396d0")}` +
  `Tie-Breakers:\n${mdmLine(3, "569bc3812558b2d2", tbStatus)}`;
const QUERY_ALL =
  `System Info:\n    Product:  EMC ScaleIO Version: R2_0.14000.231\n    ID:      ${SYSTEM}\n    Name: obs\n\n` +
  `Protection Domain pd1 Id: 073890cb00000000 has 1 storage pools, 0 Fault Sets, 3 SDS nodes\n` +
  `Storage Pool sp1 Id: 08cd1e2100000000 has 3 volumes\n`;
const sdsList = (nodes: number[]) =>
  `Query-all-SDS returned ${nodes.length} SDS nodes.\n\nProtection Domain 073890cb00000000 Name: pd1\n` +
  nodes
    .map(
      (i) =>
        `SDS ID: cf538d140000000${i} Name: node${i} State: Connected, Joined IP: 10.0.0.${i} Port: 7072\n`,
    )
    .join("");
const SDCS = [1, 2, 3]
  .map((i) => `SDC ID: b69b74c90000000${i} Name: N/A IP: 10.0.0.${i} State: Connected\n`)
  .join("");
const volumes = (mapped: number) =>
  `Query-all-volumes returned 3 volumes\nProtection Domain 073890cb00000000 Name: pd1\n` +
  `Storage Pool 08cd1e2100000000 Name: sp1\n` +
  [1, 2, 3]
    .map(
      (i) =>
        ` Volume ID: d555c6ab0000000${i} Name: docker_node${i} Size: 8.0 GB (8192 MB) ` +
        `${i === 2 && mapped === 0 ? "Unmapped" : "Mapped to 1 SDC"} Thick-provisioned\n`,
    )
    .join("");

/** `--query_sds` of one SDS holding `paths` in sp1 (2.0.12000 layout, parse.ts parseSdsDevices). */
const sdsDevices = (paths: string[]) =>
  `Protection Domain: 073890cb00000000, Name: pd1\nDevice information (total ${paths.length} devices):\n` +
  paths
    .map(
      (p, i) =>
        `\t${i + 1}: Name: N/A  Path: ${p}  Original-path: ${p}  ID: ddd0000${i}\n\t\tStorage Pool: sp1, Capacity: 120 GB\n`,
    )
    .join("");

/** A healthy cluster's scli answers on the master; `over` replaces some. */
function scli(command: string, over: Partial<Record<string, string>> = {}): string | undefined {
  const answers: Record<string, string> = {
    "--login": LOGIN,
    "--query_cluster": cluster(),
    "--query_all ": QUERY_ALL,
    "--query_all_sds": sdsList([1, 2, 3]),
    "--query_all_sdc": SDCS,
    "--query_all_volumes": volumes(1),
    "--query_sds": sdsDevices(["/dev/vdb"]),
    ...over,
  };
  const key = Object.keys(answers).find((k) => (command + " ").includes(k));
  return key === undefined ? undefined : answers[key];
}

describe("the read-only run", () => {
  it("refuses a change, an upload and a recorded change before the runner sees them", async () => {
    const { hosts, ctx } = context(() => ok());
    await expect(ctx.run("node1", "x", "systemctl start docker", { change: true })).rejects.toThrow(
      ReadOnlyError,
    );
    await expect(ctx.upload("node1", "x", [{ local: "/a", name: "a" }])).rejects.toThrow(
      /read-only run/,
    );
    expect(() => ctx.record("node1", "x", "POST /api/x")).toThrow(/read-only run/);
    expect(hosts.asked).toEqual([]);
    expect(hosts.uploads).toEqual([]);
  });
});

describe("HostPrep and HostPackages", () => {
  const prep = (rpmQ: string, repos = "") =>
    context((_h, c) => {
      if (c === "cat /etc/os-release")
        return ok('ID="centos"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n');
      if (c.startsWith("grep -lE")) return ok(repos);
      if (c.startsWith("rpm -q")) return rpmQ === "" ? ok() : fail(1, rpmQ);
      throw new Error(`unexpected ${c}`);
    });

  it("finds nothing on a prepared host, and names a removed prerequisite", async () => {
    const good = prep("");
    expect((await observeHostPrep(good.ctx, "node2")).drift).toEqual([]);
    const bad = prep("package libaio is not installed\n", "/etc/yum.repos.d/CentOS-Base.repo\n");
    expect((await observeHostPrep(bad.ctx, "node2")).drift).toEqual([
      "node2: repo files point at CentOS 7's dead mirrors: /etc/yum.repos.d/CentOS-Base.repo",
      "node2: prerequisite package(s) not installed: libaio",
    ]);
    expect(bad.ctx.changes).toEqual([]);
  });

  it("names a ScaleIO package removed or at another version", async () => {
    const versions =
      "EMC-ScaleIO-mdm 2.0-14000.231.el7\npackage EMC-ScaleIO-sds is not installed\n" +
      "EMC-ScaleIO-sdc 2.0-13000.211.el7\n";
    const { ctx, hosts } = context((_h, c) =>
      c.startsWith("rpm -q") ? ok(versions) : c.startsWith("sed -n") ? ok("1\n") : fail(1),
    );
    expect((await observeHostPackages(ctx, "node2")).drift).toEqual([
      "node2: package EMC-ScaleIO-sds is not installed",
      "node2: package EMC-ScaleIO-sdc is at 2.0-13000.211.el7, the stack installs 2.0-14000.231.el7",
    ]);
    expect(hosts.asked.every((a) => a.host === "node2")).toBe(true);
  });

  it("names an MDM installed as a tie-breaker where the topology wants a manager", async () => {
    const versions = ["mdm", "sds", "sdc"].map((c) => `EMC-ScaleIO-${c} 2.0-14000.231.el7`);
    const { ctx } = context((_h, c) =>
      c.startsWith("rpm -q") ? ok(versions.join("\n")) : ok("0\n"),
    );
    expect((await observeHostPackages(ctx, "node2")).drift).toEqual([
      "node2: its MDM is installed as a tiebreaker, the topology makes it the slave",
    ]);
  });
});

describe("the cluster-wide resources, from the master", () => {
  const onMaster = (over: Partial<Record<string, string>> = {}, loginFails?: string) =>
    context((h, c) => {
      if (h !== "node1") throw new Error(`asked ${h}: ${c}`);
      if (loginFails && c.includes("--login")) return fail(7, loginFails);
      const a = scli(c, over);
      if (a === undefined) throw new Error(`unexpected ${c}`);
      return ok(a);
    });

  it("MdmCluster: nothing on a cluster as built; its mode and state as outputs", async () => {
    const { ctx, hosts } = onMaster();
    expect(await observeMdmCluster(ctx, "node1")).toEqual({
      drift: [],
      outputs: { clusterMode: "3_node", clusterState: "Normal" },
    });
    // One round trip: the login and every query.
    expect(hosts.asked.map((a) => /--\w+/.exec(a.command)?.[0])).toEqual([
      "--login",
      "--query_cluster",
      "--query_all",
      "--query_all_sds",
      "--query_all_sdc",
      "--query_all_volumes",
    ]);
  });

  it("MdmCluster: a standby removed by hand and a renamed system are drift", async () => {
    const noSlave = cluster().replace(/Slave MDMs:\n(.*\n){3}/, "");
    const { ctx } = onMaster({
      "--query_cluster": noSlave.replace("3_node", "1_node"),
      "--query_all ": QUERY_ALL.replace("Name: obs", "Name: other"),
    });
    expect((await observeMdmCluster(ctx, "node1")).drift).toEqual([
      "node2: its MDM (10.0.0.2, manager) is not in the cluster",
      "node1: the cluster runs 1_node, the stack wants 3_node with node2 as manager",
      "node1: the system is named other, not obs",
    ]);
  });

  it("a refused login is drift, never a password change", async () => {
    const { ctx, hosts } = onMaster(
      {},
      "Error: MDM failed command.  Status: Invalid username or password\n",
    );
    expect((await observeMdmCluster(ctx, "node1")).drift).toEqual([
      "node1: the MDM rejects the configured admin password (mdmPassword): Error: MDM failed command.  Status: Invalid username or password",
    ]);
    expect(hosts.asked.filter((a) => /--set_password/.test(a.command))).toEqual([]);
    const gone = onMaster(
      {},
      "Error: MDM failed command.  Status: This MDM is not attached to a system.\n",
    );
    expect((await observeStorage(gone.ctx, "node1")).drift[0]).toMatch(
      /^node1: the MDM belongs to no cluster/,
    );
  });

  it("StorageLayout: nothing on the layout as built", async () => {
    const { ctx, hosts } = onMaster();
    expect((await observeStorage(ctx, "node1")).drift).toEqual([]);
    expect(hosts.asked.filter((a) => a.command.includes("--query_sds"))).toHaveLength(3);
  });

  it("StorageLayout: an SDS removed by hand, a missing pool and a device taken out are drift", async () => {
    const { ctx } = onMaster({
      "--query_all_sds": sdsList([1, 2]),
      "--query_all ": QUERY_ALL.replace(/Storage Pool sp1.*\n/, ""),
    });
    expect((await observeStorage(ctx, "node1")).drift).toEqual([
      "node1: storage pool sp1 is not in protection domain pd1",
      "node3: SDS node3 (10.0.0.3) is not in the cluster",
    ]);
    // node2 has a second data disk in the stack that its SDS does not hold.
    const spec2 = {
      ...spec,
      machines: spec.machines.map((m) =>
        m.name === "node2" ? { ...m, dataDisks: ["/dev/vdb", "/dev/vdc"] } : m,
      ),
    };
    const hosts2 = new ScriptedHosts((_h, c) => ok(scli(c) ?? ""));
    const ctx2 = new InstallContext(spec2, rpms, { log: () => undefined, readOnly: true }, hosts2);
    expect((await observeStorage(ctx2, "node1")).drift).toEqual([
      "node2: device /dev/vdc is not in SDS node2 (storage pool sp1)",
    ]);
  });

  it("Verification: a state other than the one the last up reported, with the MDM that is down", async () => {
    const stored = { clusterMode: "3_node", clusterState: "Normal" };
    const same = onMaster();
    expect((await observeVerification(same.ctx, "node1", stored)).drift).toEqual([]);
    const { ctx } = onMaster({ "--query_cluster": cluster("Degraded", "Disconnected") });
    expect(await observeVerification(ctx, "node1", stored)).toEqual({
      drift: [
        "node1: the cluster is 3_node Degraded, was 3_node Normal",
        "node1: MDM(s) not Normal: node3",
      ],
    });
  });
});

describe("DockerVolume", () => {
  const device = (i: number) => `/dev/disk/by-id/emc-vol-${SYSTEM}-d555c6ab0000000${i}`;
  const vol = { device: device(2), volumeName: "docker_node2" };
  const units = (mount = "active", docker = "active") =>
    [
      ["arrowhead-docker-volume.service", "enabled", "active"],
      ["var-lib-docker.mount", "enabled", mount],
      ["docker.service", "enabled", docker],
    ]
      .map(([u, e, a]) => `unit=${u}\nenabled=${e}\nactive=${a}\n`)
      .join("");
  const healthy = () =>
    [
      "real=/dev/scinia",
      "present=1",
      "mountSource=/dev/scinia",
      "mountSourceReal=/dev/scinia",
      "entries=",
      ...dockerUnitFiles(vol, true).map(([f, t]) => `sha:${f}=${sha(t)}`),
      units(),
      "virt=systemd-nspawn",
      "dockerRoot=/var/lib/docker",
      "dockerRootSourceReal=/dev/scinia",
    ].join("\n");

  const run = (o: { mapped?: boolean; probe?: string; volumes?: string }) =>
    context((h, c) => {
      const a =
        h === "node1" ? scli(c, o.volumes ? { "--query_all_volumes": o.volumes } : {}) : undefined;
      if (a !== undefined) return ok(a);
      if (h === "node2" && c.includes("--query_vols"))
        return ok(
          o.mapped === false
            ? "Retrieved 0 volume(s)\n"
            : `Retrieved 1 volume(s)\nVOL-ID d555c6ab00000002 MDM-ID ${SYSTEM}\n`,
        );
      if (h === "node2" && c.startsWith("t=$(mktemp -d)")) return ok(o.probe ?? healthy());
      throw new Error(`unexpected ${h}: ${c}`);
    });

  it("finds nothing on a Docker host as the stages left it", async () => {
    expect((await observeDockerVolume(run({}).ctx, "node2")).drift).toEqual([]);
  });

  it("a mapping removed by hand (Docker stopped, unmounted, unmapped) is drift, each part named", async () => {
    const probe = healthy()
      .replace("present=1\n", "")
      .replace(/mountSource=.*\nmountSourceReal=.*\n/, "mountSource=\n")
      .replace(units(), units("inactive", "inactive"));
    const { ctx } = run({ mapped: false, probe, volumes: volumes(0) });
    expect((await observeDockerVolume(ctx, "node2")).drift).toEqual([
      "node2: volume docker_node2 is not mapped to node2's SDC",
      "node2: /var/lib/docker is not mounted from volume docker_node2",
      "node2: var-lib-docker.mount is not active (inactive)",
      "node2: docker.service is not active (inactive)",
    ]);
  });

  it("a volume removed from the cluster is drift (nothing asked on the host)", async () => {
    const { ctx, hosts } = run({ volumes: volumes(1).replace(/.*docker_node2.*\n/, "") });
    expect((await observeDockerVolume(ctx, "node2")).drift).toEqual([
      "node2: volume docker_node2 is not in the cluster",
    ]);
    expect(hosts.asked.filter((a) => a.host === "node2")).toEqual([]);
  });
});

describe("Gateway and VolumePlugin", () => {
  const props = "mdm.ip.addresses=10.0.0.1,10.0.0.2\n";
  it("Gateway: a disabled service and a manager missing from its MDM list are drift", async () => {
    const good = context((_h, c) =>
      c.startsWith("systemctl is-enabled")
        ? ok("enabled\n")
        : c.startsWith("systemctl is-active")
          ? ok("active\n")
          : ok(props),
    );
    expect((await observeGateway(good.ctx, "node1")).drift).toEqual([]);
    const bad = context((_h, c) =>
      c.startsWith("systemctl is-enabled")
        ? fail(1, "disabled\n")
        : c.startsWith("systemctl is-active")
          ? ok("active\n")
          : ok("mdm.ip.addresses=10.0.0.1\n"),
    );
    expect((await observeGateway(bad.ctx, "node1")).drift).toEqual([
      "node1: the gateway service scaleio-gateway is not enabled (disabled)",
      "node1: the gateway's MDM list lacks 10.0.0.2",
    ]);
  });

  const settings = {
    gateway: "https://10.0.0.1:443",
    user: "admin",
    system: "obs",
    protectionDomain: "pd1",
    storagePool: "sp1",
    gatewayCertSha256: "c".repeat(64),
  };
  const settingsOf: PluginSettingsOf = async () => ({ settings });
  const probe = (active: string, config = sha(pluginConfigText(settings, MDM_PW))) =>
    [
      `bin=${"b".repeat(64)}`,
      `config=${config}`,
      "ca=",
      `unit=${sha(pluginUnitText())}`,
      "dirMode=700",
      "configMode=600 root",
      "enabled=enabled",
      `active=${active}`,
      ...(active === "active" ? ["socket=1"] : []),
    ].join("\n");

  it("VolumePlugin: a stopped plugin and a config written by hand are drift", async () => {
    const good = context(() => ok(probe("active")));
    expect((await observeVolumePlugin(good.ctx, "node2", settingsOf)).drift).toEqual([]);
    const bad = context(() => ok(probe("inactive", "d".repeat(64))));
    expect((await observeVolumePlugin(bad.ctx, "node2", settingsOf)).drift).toEqual([
      "node2: the volume plugin's config is changed",
      "node2: the volume plugin is not running (scaleio-volume-plugin.service inactive)",
    ]);
  });
});

describe("observeWith: a refresh never fails because of the hosts", () => {
  const probe: Probe = (ctx, host) => observeHostPrep(ctx, host);

  it("a host that does not answer is drift naming it", async () => {
    const hosts = new ScriptedHosts(() => {
      throw new Error(
        "[node3] could not connect over SSH to root@127.0.0.1:2203 after 4 attempts in 20 s " +
          "(last error: connect ECONNREFUSED 127.0.0.1:2203). Check that the machine is running",
      );
    });
    const r = await observeWith(
      { ...spec },
      probe,
      "node3",
      {},
      { log: () => undefined, hosts, rpms },
    );
    expect(r).toEqual({
      drift: ["node3: not answering over SSH (connect ECONNREFUSED 127.0.0.1:2203)"],
    });
  });

  it("a probe's failure is drift, with every secret redacted", async () => {
    const hosts = new ScriptedHosts(() => {
      throw new Error(`scli said ${MDM_PW} is wrong`);
    });
    const r = await observeWith(spec, probe, "node2", {}, { log: () => undefined, hosts, rpms });
    expect(r.drift).toEqual(["node2: could not be checked: scli said *** is wrong"]);
  });

  it("a probe that tries a change is stopped before the host sees it", async () => {
    const hosts = new ScriptedHosts(() => ok());
    const changing: Probe = async (ctx, host) => {
      await ctx.run(host, "refresh", "systemctl start docker", { change: true });
      return { drift: [] };
    };
    const r = await observeWith(spec, changing, "node2", {}, { log: () => undefined, hosts, rpms });
    expect(r.drift[0]).toMatch(/^node2: could not be checked: refresh: refused in a read-only run/);
    expect(hosts.asked).toEqual([]);
  });

  it("an RPM folder this machine cannot read fails the refresh, saying so (it is not drift)", async () => {
    const hosts = new ScriptedHosts(() => ok());
    const p = observeWith(
      { ...spec, rpmDir: "/nonexistent/rpms" },
      probe,
      "node2",
      {},
      {
        log: () => undefined,
        hosts,
      },
    );
    await expect(p).rejects.toThrow(/^pulumi refresh compares the hosts with the ScaleIO packages/);
    expect(hosts.asked).toEqual([]);
  });

  it("failureDrift: a timeout is 'not answering', other failures are named as they are", () => {
    const id = (s: string) => s;
    expect(failureDrift("node1", new Error("timed out after 180 s"), id)).toBe(
      "node1: not answering (timed out after 180 s)",
    );
    expect(failureDrift("node1", new Error("[node2] host key changed"), id)).toBe(
      "node2: could not be checked: host key changed",
    );
  });
});
