import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Machine } from "../../src/machine";
import { planTasks } from "../../src/install/plan";
import { InstallContext } from "../../src/install/context";
import type { RpmSet } from "../../src/install/rpms";
import { runGraph } from "../../src/install/runner";
import type { InstallSpec } from "../../src/install/spec";
import { sectioned, splitSections } from "../../src/install/shell";
import { parseDockerProbe } from "../../src/install/stages/docker";

function m(name: string, mdm: Machine["mdm"], services: Machine["services"]): Machine {
  return {
    name,
    mdm,
    services,
    sshHost: "127.0.0.1",
    sshPort: 22,
    sshUser: "root",
    publicAddress: "127.0.0.1",
    privateAddress: "10.0.0.1",
    dataDisks: ["/dev/vdb"],
    os: "centos7",
  };
}
const nodes = [
  m("node1", "master", ["sds", "sdc", "gateway", "docker"]),
  m("node2", "slave", ["sds", "sdc", "docker"]),
  m("node3", "tiebreaker", ["sds", "sdc", "docker"]),
  m("node4", undefined, ["sdc", "docker"]),
];

describe("install task graph", () => {
  const tasks = planTasks(nodes);
  const after = (id: string) => tasks.find((t) => t.id === id)!.after;

  // In the registry's order, stage by stage (runGraph starts each when its dependencies are done).
  it("has one task per stage and host, and one per cluster-wide stage", () => {
    expect(tasks.map((t) => t.id)).toEqual([
      "HostPrep:node1",
      "HostPrep:node2",
      "HostPrep:node3",
      "HostPrep:node4",
      "HostPackages:node1",
      "HostPackages:node2",
      "HostPackages:node3",
      "HostPackages:node4",
      "MdmCluster",
      "StorageLayout",
      "Gateway:node1",
      "DockerVolume:node1",
      "DockerVolume:node2",
      "DockerVolume:node3",
      "DockerVolume:node4",
      "VolumePlugin:node1",
      "VolumePlugin:node2",
      "VolumePlugin:node3",
      "VolumePlugin:node4",
      "Verification",
    ]);
  });

  it("makes each task wait only for what it needs", () => {
    expect(after("HostPackages:node4")).toEqual(["HostPrep:node4"]);
    // The cluster needs the MDM packages only; storage the SDS ones; a Docker volume its SDC's.
    expect(after("MdmCluster")).toEqual([
      "HostPackages:node1",
      "HostPackages:node2",
      "HostPackages:node3",
    ]);
    expect(after("StorageLayout")).toEqual([
      "MdmCluster",
      "HostPackages:node1",
      "HostPackages:node2",
      "HostPackages:node3",
    ]);
    // The gateway does not wait for storage, Docker hosts do not wait for the gateway.
    expect(after("Gateway:node1")).toEqual(["MdmCluster", "HostPackages:node1"]);
    expect(after("DockerVolume:node2")).toEqual(["StorageLayout", "HostPackages:node2"]);
    expect(after("DockerVolume:node4")).toEqual(["StorageLayout", "HostPackages:node4"]);
    expect(after("Verification")).toEqual(
      expect.arrayContaining(["Gateway:node1", "DockerVolume:node4"]),
    );
  });

  it("every dependency names a task that exists and comes earlier (no cycles)", () => {
    const seen = new Set<string>();
    for (const t of tasks) {
      for (const d of t.after) expect(seen.has(d), `${t.id} after ${d}`).toBe(true);
      seen.add(t.id);
    }
  });
});

describe("runGraph", () => {
  const t = (id: string, after: string[] = []) => ({ id, stage: "HostPrep" as const, after });

  it("starts a task once its dependencies are done, and independent tasks at once", async () => {
    const log: string[] = [];
    const tick = () => new Promise((r) => setTimeout(r, 5));
    await runGraph([t("a"), t("b", ["a"]), t("c"), t("d", ["b", "c"])], async (x) => {
      log.push(`start ${x.id}`);
      await tick();
      log.push(`end ${x.id}`);
    });
    expect(log.slice(0, 2).sort()).toEqual(["start a", "start c"]);
    expect(log.indexOf("start b")).toBeGreaterThan(log.indexOf("end a"));
    expect(log.indexOf("start d")).toBeGreaterThan(log.indexOf("end b"));
    expect(log.indexOf("start d")).toBeGreaterThan(log.indexOf("end c"));
  });

  it("a failure skips what depends on it, runs the rest, then throws every failure", async () => {
    const ran: string[] = [];
    const err = await runGraph(
      [t("a"), t("b", ["a"]), t("c"), t("d", ["c"]), t("e")],
      async (x) => {
        if (x.id === "a" || x.id === "e") throw new Error(`${x.id} broke`);
        ran.push(x.id);
      },
    ).catch((e: Error) => e);
    expect(ran.sort()).toEqual(["c", "d"]);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.split("\n").sort()).toEqual(["a broke", "e broke"]);
  });

  it("ignores dependencies on tasks that were not selected", async () => {
    const ran: string[] = [];
    await runGraph([t("b", ["a"])], async (x) => void ran.push(x.id));
    expect(ran).toEqual(["b"]);
  });
});

describe("several queries in one remote command", () => {
  it("splits each query's output and exit status (run by a real shell)", () => {
    const script = sectioned({
      one: "echo first; echo second",
      two: "echo oops >&2; exit 3",
      three: "true",
    });
    const out = execFileSync("sh", ["-c", script], { encoding: "utf8" });
    expect(splitSections(out)).toEqual({
      one: { out: "first\nsecond", code: 0 },
      two: { out: "oops", code: 3 },
      three: { out: "", code: 0 },
    });
  });
});

describe("docker probe", () => {
  it("reads paths, unit states, file hashes and missing packages", () => {
    const p = parseDockerProbe(
      [
        "real=/dev/scinia",
        "mountSource=",
        "entries=a/b/",
        "fsType=",
        "sha:/etc/systemd/system/var-lib-docker.mount=abc",
        "unit=arrowhead-docker-volume.service",
        "enabled=enabled",
        "active=active",
        "unit=docker.service",
        "enabled=disabled",
        "active=inactive",
        "virt=systemd-nspawn",
        "missing=docker",
      ].join("\n"),
    );
    expect(p).toMatchObject({
      real: "/dev/scinia",
      mountSource: "",
      entries: ["a", "b"],
      fsType: "",
      inContainer: true,
      missingPackages: ["docker"],
      dockerRoot: "",
      fileSha: { "/etc/systemd/system/var-lib-docker.mount": "abc" },
      units: {
        "enabled:arrowhead-docker-volume.service": "enabled",
        "active:arrowhead-docker-volume.service": "active",
        "enabled:docker.service": "disabled",
        "active:docker.service": "inactive",
      },
    });
    expect(parseDockerProbe("virt=none\n").inContainer).toBe(false);
  });
});

describe("facts kept during a run", () => {
  const ctx = () =>
    new InstallContext(
      {
        machines: nodes,
        privateKey: "k",
        os: "centos7",
        clusterName: "c",
        protectionDomain: "pd1",
        storagePool: "sp1",
        mediaType: "HDD",
        dockerVolumeGb: 8,
        mdmPassword: "x",
        gatewayPassword: "y",
      } as InstallSpec,
      { dialect: "3.x" } as RpmSet,
      { log: () => undefined },
    );

  it("a fact is recalled only while the run has changed nothing since it was found", () => {
    const c = ctx();
    c.remember("k", 42);
    expect(c.recall("k")).toBe(42);
    c.changes.push({ host: "node1", step: "s", command: "touch x" });
    expect(c.recall("k")).toBeUndefined();
    c.remember("k", 43);
    expect(c.recall("k")).toBe(43);
    // Found before a change that came in the meantime: not valid now.
    c.remember("old", 1, 0);
    expect(c.recall("old")).toBeUndefined();
  });

  it("memo makes a value once, and again after a failure", async () => {
    const c = ctx();
    let calls = 0;
    const fail = () => {
      calls++;
      return Promise.reject(new Error("no"));
    };
    await expect(c.memo("m", fail)).rejects.toThrow("no");
    await expect(c.memo("m", fail)).rejects.toThrow("no");
    expect(calls).toBe(2);
    const ok = () => {
      calls++;
      return Promise.resolve("v");
    };
    expect(await c.memo("n", ok)).toBe("v");
    expect(await c.memo("n", ok)).toBe("v");
    expect(calls).toBe(3);
  });
});
