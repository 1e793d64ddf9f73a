import { describe, expect, it } from "vitest";
import type { Machine } from "../../src/machine";
import { planInstall } from "../../src/install/plan";
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
  it("orders stages; host work in parallel, cluster work serial on the master", () => {
    const p = planInstall(three);
    expect(p.map((x) => x.stage)).toEqual([
      "prepare",
      "packages",
      "cluster",
      "storage",
      "volumes",
      "gateway",
      "docker",
      "volumeplugin",
      "verify",
    ]);
    expect(p[0]).toEqual({
      stage: "prepare",
      scope: "host",
      parallel: true,
      hosts: ["node1", "node2", "node3"],
    });
    expect(p[2]).toEqual({ stage: "cluster", scope: "cluster", parallel: false, hosts: ["node1"] });
    expect(p[4]).toEqual({
      stage: "volumes",
      scope: "cluster",
      parallel: false,
      hosts: ["node1", "node2", "node3"],
    });
    expect(p[5].hosts).toEqual(["node1"]);
  });
  it("drops stages with nothing to do", () => {
    const noDocker = three.map((x) => ({
      ...x,
      services: x.services.filter((s) => s !== "docker" && s !== "gateway"),
    }));
    expect(planInstall(noDocker).map((x) => x.stage)).toEqual([
      "prepare",
      "packages",
      "cluster",
      "storage",
      "verify",
    ]);
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
