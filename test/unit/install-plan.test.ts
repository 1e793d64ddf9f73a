import { describe, expect, it } from "vitest";
import type { Machine } from "../../src/machine";
import { planInstall, planTasks, type PlanTask } from "../../src/install/plan";
import { resourceOf, stage, STAGE_NAMES, STAGES, STEP_KINDS } from "../../src/install/registry";
import { componentsOf, managerIps, validateTopology, clusterMode } from "../../src/install/spec";
import { installCommand, packageJobs } from "../../src/install/stages/packages";
import { notInstalled, osFromRelease, prerequisites } from "../../src/install/stages/prepare";
import { vaultRewriteScript } from "../../src/install/stages/repos";
import { parseRpmName } from "../../src/install/rpms";

function m(name: string, i: number, mdm: Machine["mdm"], services: Machine["services"]): Machine {
  return {
    name,
    mdm,
    services,
    sshHost: "127.0.0.1",
    sshPort: 2200 + i,
    sshUser: "root",
    publicAddress: "127.0.0.1",
    privateAddress: `10.0.0.${i}`,
    dataDisks: ["/dev/vdb"],
    os: "centos7",
  };
}
const three = [
  m("node1", 1, "master", ["sds", "sdc", "gateway", "docker"]),
  m("node2", 2, "slave", ["sds", "sdc", "docker"]),
  m("node3", 3, "tiebreaker", ["sds", "sdc", "docker"]),
];

describe("plan", () => {
  // What the runner runs (runStages) and the Pulumi resources are made from.
  const stagesOf = (tasks: PlanTask[]) => [...new Set(tasks.map((t) => t.stage))];
  const hostsOf = (tasks: PlanTask[], stage: string) =>
    tasks.filter((t) => t.stage === stage).map((t) => t.host);

  it("orders stages; host work on every host, cluster work once", () => {
    const p = planTasks(three);
    expect(stagesOf(p)).toEqual([
      "HostPrep",
      "HostPackages",
      "MdmCluster",
      "StorageLayout",
      "Gateway",
      "DockerVolume",
      "VolumePlugin",
      "Verification",
    ]);
    expect(hostsOf(p, "HostPrep")).toEqual(["node1", "node2", "node3"]);
    expect(hostsOf(p, "MdmCluster")).toEqual([undefined]);
    // A Docker host's volume waits for the storage layout and its own SDC package only.
    expect(hostsOf(p, "DockerVolume")).toEqual(["node1", "node2", "node3"]);
    expect(p.find((t) => t.id === "DockerVolume:node2")!.after).toEqual([
      "StorageLayout",
      "HostPackages:node2",
    ]);
    expect(hostsOf(p, "Gateway")).toEqual(["node1"]);
    // Cluster-wide work runs from the master, one command at a time; host work in parallel.
    expect(STAGE_NAMES.filter((s) => STAGES[s].scope === "cluster")).toEqual([
      "MdmCluster",
      "StorageLayout",
      "Verification",
    ]);
  });
  it("drops stages with nothing to do", () => {
    const noDocker = three.map((x) => ({
      ...x,
      services: x.services.filter((s) => s !== "docker" && s !== "gateway"),
    }));
    expect(stagesOf(planTasks(noDocker))).toEqual([
      "HostPrep",
      "HostPackages",
      "MdmCluster",
      "StorageLayout",
      "Verification",
    ]);
  });
  it("the bench's stage-by-stage view agrees with the tasks", () => {
    const phases = planInstall(three);
    expect(phases.map((x) => x.stage)).toEqual(stagesOf(planTasks(three)));
    expect(phases[2]).toEqual({
      stage: "MdmCluster",
      scope: "cluster",
      parallel: false,
      hosts: ["node1"],
    });
    expect(phases[5]).toMatchObject({ stage: "DockerVolume", hosts: ["node1", "node2", "node3"] });
  });
  it("every registry entry is complete: one name (its Pulumi type), a resource, hosts, dependencies", () => {
    for (const name of STAGE_NAMES) {
      const def = stage(name);
      expect(["host", "cluster"], name).toContain(def.scope);
      expect(typeof def.run, name).toBe("function");
      expect(Array.isArray(def.hosts({ nodes: three })), name).toBe(true);
      // The name is the type's last part, arrowhead:scaleio:<name>: a Pulumi type name.
      expect(name).toMatch(/^[A-Z][A-Za-z]+$/);
      expect(typeof resourceOf(name).name("node1"), name).toBe("string");
    }
    expect([...STEP_KINDS]).toEqual(STAGE_NAMES);
    // Every dependency names a task of the plan that comes earlier.
    const ids: string[] = [];
    for (const t of planTasks(three)) {
      for (const d of t.after) expect(ids, `${t.id} after ${d}`).toContain(d);
      ids.push(t.id);
    }
  });
  it("validates the topology", () => {
    expect(() => validateTopology(three)).not.toThrow();
    expect(() => validateTopology(three.slice(0, 2))).toThrow(/1 slave \+ 1 tie-breaker/);
    expect(() => validateTopology([...three, { ...three[0], name: "node4" }])).toThrow(
      /exactly one master/,
    );
    expect(() => validateTopology([three[0], { ...three[0], mdm: "slave" }, three[2]])).toThrow(
      /named "node1"/,
    );
    expect(() => validateTopology([{ ...three[0], dataDisks: [] }, three[1], three[2]])).toThrow(
      /node1 runs an SDS but has no data disks/,
    );
    expect(clusterMode(three)).toBe("3_node");
  });
  it("package jobs carry the install-time variables; secrets only by name", () => {
    const rpms = Object.fromEntries(
      ["mdm", "sds", "sdc", "lia", "gateway"].map((c) => [
        c,
        parseRpmName(`EMC-ScaleIO-${c}-3.6-700.103${c === "gateway" ? "" : ".el7"}.x86_64.rpm`),
      ]),
    );
    const gwNode = { ...three[0], services: [...three[0].services, "lia" as const] };
    const jobs = packageJobs(gwNode, three, rpms, "3.x");
    expect(jobs.map((j) => j.component)).toEqual(["mdm", "sds", "sdc", "lia", "gateway"]);
    expect(jobs[0].env).toEqual({ MDM_ROLE_IS_MANAGER: "1" });
    expect(jobs[2].env).toEqual({ MDM_IP: "10.0.0.1,10.0.0.2" });
    expect(jobs[3].secrets).toEqual(["TOKEN"]);
    expect(jobs[4].secrets).toEqual(["GATEWAY_ADMIN_PASSWORD"]);
    expect(packageJobs(three[2], three, rpms, "3.x")[0].env).toEqual({ MDM_ROLE_IS_MANAGER: "0" });
    expect(installCommand(jobs[2], "/var/tmp/x.rpm")).toBe(
      "env MDM_IP=10.0.0.1,10.0.0.2 yum install -y /var/tmp/x.rpm",
    );
    expect(installCommand(jobs[4], "/var/tmp/g.rpm")).toBe("yum install -y /var/tmp/g.rpm");
    expect(managerIps(three)).toEqual(["10.0.0.1", "10.0.0.2"]);
    expect(componentsOf({ ...three[1], services: ["docker"] })).toEqual(["mdm", "sdc"]);
  });
  it("prerequisites per role and OS checks", () => {
    expect(prerequisites(three[0], "centos7", "2.x")).toEqual([
      "numactl",
      "libaio",
      "bash-completion",
      "python",
      "mutt",
      "python-paramiko",
      "java-1.8.0-openjdk",
    ]);
    expect(prerequisites(three[2], "rocky8", "3.x")).toEqual([
      "numactl",
      "libaio",
      "bash-completion",
      "python3",
    ]);
    expect(
      osFromRelease('ID="centos"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n'),
    ).toEqual({
      os: "centos7",
      pretty: "CentOS Linux 7 (Core)",
    });
    expect(osFromRelease('ID="rocky"\nVERSION_ID="8.10"\n').os).toBe("rocky8");
    expect(osFromRelease('ID=debian\nVERSION_ID="12"\n').os).toBeUndefined();
  });
  it("vault rewrite comments mirrorlist and sets the baseurl", () => {
    const s = vaultRewriteScript("https://vault.centos.org/7.9.2009/");
    expect(s).toContain("s|^mirrorlist=|#mirrorlist=|");
    expect(s).toContain("baseurl=https://vault.centos.org/7.9.2009|");
  });
});

describe("rpm -q output", () => {
  it("names the packages rpm says are not installed, names with regex characters too", () => {
    const out = [
      "package numactl is not installed",
      "libaio-0.3.109-13.el7.x86_64",
      "package libstdc++ is not installed",
      "python-2.7.5-90.el7.x86_64",
    ].join("\n");
    expect(notInstalled(["numactl", "libaio", "libstdc++", "python"], out)).toEqual([
      "numactl",
      "libstdc++",
    ]);
    expect(notInstalled(["python"], "package python-paramiko is not installed")).toEqual([]);
  });
});
