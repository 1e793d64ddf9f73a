// One table per key family of src/config/: each reader run alone on a Collector over plain
// values, so a family's rules can be changed and checked without a whole stack config.
import { describe, expect, it } from "vitest";
import { readAccess } from "../../src/config/access";
import { CloudReader } from "../../src/config/cloud-reader";
import { CLOUD_READERS } from "../../src/config/clouds";
import { Collector, ConfigError } from "../../src/config/collector";
import { DEFAULTS } from "../../src/config/defaults";
import { readSpec, CLOUDS, type CloudName, type NodeSpec } from "../../src/config";
import { readNodes, checkLayout } from "../../src/config/nodes";
import { readMediaType, readPlatform } from "../../src/config/platform";
import { readNames, readSizes } from "../../src/config/scaleio";
import { readPasswords, readSshKey } from "../../src/config/secrets";
import { readInstallSwitches, readSources } from "../../src/config/sources";
import { checkPoolDevicesAgainstHosts, readStoragePools } from "../../src/config/storage-pools";
import { checkWipeDevicesAgainstHosts, readWipeDevices } from "../../src/config/wipe-devices";
import { missingPublicImage } from "../../src/providers/images";
import { rawConfig } from "./support/raw-config";

type Values = Record<string, unknown>;

const raw = (values: Values) => rawConfig(values);

/** Runs one family's reader; returns what it read and the problems it found. */
function run<T>(values: Values, read: (c: Collector) => T): { value: T; problems: string[] } {
  const c = new Collector(raw(values));
  return { value: read(c), problems: c.problems };
}

const PW = { mdmPassword: "Str0ng!Pw", gatewayPassword: "Str0ng!Pw" };
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me";
const THREE: NodeSpec[] = ["node1", "node2", "node3"].map((name, i) => ({
  name,
  roles: i === 0 ? ["mdm", "sds", "sdc", "docker", "gateway"] : ["mdm", "sds", "sdc", "docker"],
}));

describe("defaults.ts", () => {
  it("holds the defaults README.md's config table and stacks/ state", () => {
    expect(DEFAULTS).toMatchObject({
      os: "centos7",
      clusterMode: "3_node",
      mediaType: "HDD",
      mdmNodes: { "3_node": 3, "5_node": 5 },
      sdsDisks: { count: 1, sizeGb: 100 },
      dockerVolumeSizeGb: 16,
      protectionDomain: "pd1",
      storagePool: "sp1",
      exposeToInternet: false,
      rpmDir: "assets/rpms",
      centos7VaultUrl: "https://vault.centos.org/7.9.2009",
      deleteVolumes: false,
      volumePlugin: true,
      aws: { instanceType: "t3.xlarge", vpcCidr: "10.20.0.0/24" },
      gcp: { machineType: "e2-standard-4" },
      azure: { vmSize: "Standard_D4s_v5" },
      digitalocean: { size: "s-4vcpu-8gb" },
      host: { port: 22, user: "root" },
    });
    expect(DEFAULTS.clusterName("dev")).toBe("arrowhead-dev");
  });
});

describe("the collector", () => {
  it("writes each problem as key, what is wrong, example; throws them all at once", () => {
    const c = new Collector(raw({}));
    c.report("os", "is wrong", "arrowhead:os: rocky8");
    c.add("arrowhead:nodes: written whole");
    expect(c.problems).toEqual([
      "arrowhead:os: is wrong. Example: arrowhead:os: rocky8",
      "arrowhead:nodes: written whole",
    ]);
    expect(() => c.result(1)).toThrow(ConfigError);
    expect(() => c.result(1)).toThrow(/2 problems/);
    expect(new Collector(raw({})).result(1)).toBe(1);
  });

  it.each([
    ["absent, with a default", {}, "b", "b", 0],
    ["absent, required", {}, undefined, undefined, 1],
    ["allowed", { k: "c" }, "b", "c", 0],
    ["near miss", { k: "B" }, "b", undefined, 1],
  ])("oneOf: %s", (_, values, dflt, value, count) => {
    const r = run(values, (c) => c.oneOf("k", ["a", "b", "c"], dflt, "arrowhead:k: a"));
    expect(r.value).toBe(value);
    expect(r.problems).toHaveLength(count);
  });

  it.each([
    [{}, true, 0],
    [{ k: "false" }, false, 0],
    [{ k: "yes" }, true, 1],
  ])("boolean %j (default true) -> %s", (values, value, count) => {
    const r = run(values, (c) => c.boolean("k", true, "what k does"));
    expect(r.value).toBe(value);
    expect(r.problems).toHaveLength(count);
  });
});

describe("platform: cloud, os, image, clusterMode, mediaType", () => {
  it.each([
    ["defaults", { cloud: "aws" }, { cloud: "aws", os: DEFAULTS.os, clusterMode: "3_node" }, []],
    ["cloud required", {}, { cloud: undefined }, [/arrowhead:cloud: is required/]],
    ["cloud mistyped", { cloud: "AWS" }, { cloud: undefined }, [/did you mean "aws"/]],
    ["centos7 on gcp", { cloud: "gcp" }, { os: "centos7" }, [/no public image on GCP.*rocky8/]],
    ["centos7 on gcp, own image", { cloud: "gcp", image: "my-c7" }, { image: "my-c7" }, []],
    ["rocky9 on gcp", { cloud: "gcp", os: "rocky9" }, { os: "rocky9" }, []],
    ["bad image", { cloud: "aws", image: "$(x)" }, {}, [/arrowhead:image:.*Example/]],
    ["5_node", { cloud: "local", clusterMode: "5_node" }, { clusterMode: "5_node" }, []],
  ])("%s", (_, values, expected, messages) => {
    const r = run(values, readPlatform);
    expect(r.value).toMatchObject(expected);
    expect(r.problems).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(r.problems[i]).toMatch(m));
  });

  it.each([
    [{}, "HDD", 0],
    [{ mediaType: "SSD" }, "SSD", 0],
    [{ mediaType: "Transitional" }, "Transitional", 0],
    [{ mediaType: "NVMe" }, "HDD", 1],
  ])("mediaType %j", (values, value, count) => {
    const r = run(values, readMediaType);
    expect(r.value).toBe(value);
    expect(r.problems).toHaveLength(count);
  });

  it("the image gaps are images.ts's: CentOS 7 on GCP and DigitalOcean only", () => {
    const gaps = CLOUDS.flatMap((cl) => (missingPublicImage(cl, "centos7") ? [cl] : []));
    expect(gaps).toEqual(["gcp", "digitalocean"]);
    expect(missingPublicImage("gcp", "rocky8")).toBeUndefined();
  });
});

describe("nodes", () => {
  it.each([
    ["default: 3 nodes", {}, "3_node", 3, 0],
    ["5_node default: 5", {}, "5_node", 5, 0],
    ["nodeCount 4", { nodeCount: 4 }, "3_node", 4, 0],
    ["nodeCount under the MDMs", { nodeCount: 2 }, "3_node", 0, 1],
    ["nodeCount not a number", { nodeCount: "x" }, "3_node", 0, 1],
    ["nodes not a list", { nodes: "node1" }, "3_node", 0, 1],
    ["node name and role bad", { nodes: [{ name: "N 1", roles: ["cook"] }] }, "3_node", 1, 2],
  ] as const)("%s", (_, values, mode, count, problems) => {
    const r = run(values, (c) => readNodes(c, mode));
    expect(r.value).toHaveLength(count);
    expect(r.problems).toHaveLength(problems);
  });

  it("names nodes after host entries when given", () => {
    const r = run({}, (c) => readNodes(c, "3_node", ["a1", "a2", "a3"]));
    expect(r.value.map((n) => n.name)).toEqual(["a1", "a2", "a3"]);
  });

  it.each([
    ["the default layout", THREE, 0],
    ["no gateway", THREE.map((n) => ({ ...n, roles: n.roles.filter((r) => r !== "gateway") })), 1],
    ["docker without sdc", [...THREE, { name: "node4", roles: ["docker"] } as NodeSpec], 1],
    ["two MDMs, two SDS", THREE.slice(0, 2), 2],
  ])("layout: %s", (_, nodes, count) => {
    expect(run({}, (c) => checkLayout(c, nodes, "3_node")).problems).toHaveLength(count);
  });
});

describe("scaleio: names and sizes", () => {
  it.each([
    [{}, { clusterName: "arrowhead-dev", protectionDomain: "pd1", storagePool: "sp1" }, 0],
    [{ clusterName: "lab" }, { clusterName: "lab" }, 0],
    [{ storagePool: "--i_am_sure" }, {}, 1],
  ])("names %j", (values, expected, count) => {
    const r = run(values, (c) => readNames(c, "dev"));
    expect(r.value).toMatchObject(expected);
    expect(r.problems).toHaveLength(count);
  });

  it.each([
    [{}, { sdsDisks: DEFAULTS.sdsDisks, dockerVolumeSizeGb: DEFAULTS.dockerVolumeSizeGb }, []],
    [{ dockerVolumeSizeGb: 24 }, { dockerVolumeSizeGb: 24 }, []],
    [{ dockerVolumeSizeGb: 20 }, { dockerVolumeSizeGb: 16 }, [/round it up to 24/]],
    [{ sdsDisks: { count: 9 } }, {}, [/sdsDisks.count/]],
    [{ sdsDisks: { sizeGb: 50 } }, {}, [/at least 100 GB/]],
  ])("sizes %j", (values, expected, messages) => {
    const r = run(values, readSizes);
    expect(r.value).toMatchObject(expected);
    expect(r.problems).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(r.problems[i]).toMatch(m));
  });
});

describe("secrets: passwords and the SSH key pair", () => {
  it.each([
    [PW, []],
    [{}, [/mdmPassword: is required/, /gatewayPassword: is required/]],
    [{ ...PW, gatewayPassword: "short" }, [/gatewayPassword: does not meet/]],
  ])("passwords %#", (values, messages) => {
    const r = run(values, readPasswords);
    expect(r.problems).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(r.problems[i]).toMatch(m));
    r.problems.forEach((p) => expect(p).not.toContain("short"));
  });

  it.each([
    ["neither (generated)", {}, false, []],
    ["neither on existing hosts", {}, true, [/existing hosts need the key/]],
    ["public only", { sshPublicKey: KEY }, false, [/set both/]],
    ["both", { sshPublicKey: KEY, sshPrivateKey: "(secret)" }, true, []],
    ["not a key", { sshPublicKey: "ssh-ed25519 $(x)", sshPrivateKey: "s" }, false, [/OpenSSH/]],
  ])("key pair: %s", (_, values, existing, messages) => {
    const r = run(values, (c) => readSshKey(c, existing));
    expect(r.problems).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(r.problems[i]).toMatch(m));
  });
});

describe("access: allowedCidr and exposeToInternet", () => {
  it.each([
    ["a cloud without it", {}, "aws", 1, 0],
    ["local without it", {}, "local", 0, 0],
    ["a CIDR", { allowedCidr: "203.0.113.7/32" }, "gcp", 0, 0],
    ["not a CIDR", { allowedCidr: "1.2.3.4" }, "gcp", 1, 0],
    ["the internet unconfirmed", { allowedCidr: "0.0.0.0/0" }, "aws", 1, 0],
    ["the internet confirmed", { allowedCidr: "0.0.0.0/0", exposeToInternet: "true" }, "aws", 0, 1],
    [
      "confirmation for nothing",
      { allowedCidr: "10.0.0.0/8", exposeToInternet: true },
      "aws",
      0,
      1,
    ],
    ["cloud unknown", {}, undefined, 0, 0],
  ] as const)("%s", (_, values, cloud, problems, warnings) => {
    const r = run(values, (c) => readAccess(c, cloud));
    expect(r.problems).toHaveLength(problems);
    expect(r.value.warnings).toHaveLength(warnings);
  });
});

describe("sources and switches", () => {
  it.each([
    [{}, DEFAULTS.centos7VaultUrl, 0],
    [{ centos7VaultUrl: "http://mirror.example:8080/c7" }, "http://mirror.example:8080/c7", 0],
    [{ centos7VaultUrl: "https://x/$(id)" }, "https://x/$(id)", 1],
  ])("%j", (values, url, count) => {
    const r = run(values, readSources);
    expect(r.value.centos7VaultUrl).toBe(url);
    expect(r.value.rpmDir).toMatch(/\/assets\/rpms$/);
    expect(r.problems).toHaveLength(count);
  });

  it.each([
    [{}, { deleteVolumes: false, volumePlugin: true }, 0],
    [
      { deleteVolumes: "true", volumePlugin: "false" },
      { deleteVolumes: true, volumePlugin: false },
      0,
    ],
    [{ volumePlugin: "no" }, { volumePlugin: true }, 1],
  ])("switches %j", (values, expected, count) => {
    const r = run(values, readInstallSwitches);
    expect(r.value).toEqual({ ...{ deleteVolumes: false, volumePlugin: true }, ...expected });
    expect(r.problems).toHaveLength(count);
  });
});

describe("wipeDevices", () => {
  it.each([
    [{}, {}, 0],
    [{ wipeDevices: { node2: ["/dev/sdb"] } }, { node2: ["/dev/sdb"] }, 0],
    [{ wipeDevices: { node9: ["/dev/sdb"] } }, {}, 1],
    [{ wipeDevices: { node2: ["sdb"] } }, {}, 1],
    [{ wipeDevices: ["/dev/sdb"] }, {}, 1],
  ])("%j", (values, expected, count) => {
    const r = run(values, (c) => readWipeDevices(c, THREE));
    expect(r.value).toEqual(expected);
    expect(r.problems).toHaveLength(count);
  });

  it("on existing hosts, only a host's dataDisks", () => {
    const hosts = [{ name: "node2", dataDisks: ["/dev/sdb"] }] as never;
    const ok = run({}, (c) => checkWipeDevicesAgainstHosts(c, { node2: ["/dev/sdb"] }, hosts));
    const bad = run({}, (c) => checkWipeDevicesAgainstHosts(c, { node2: ["/dev/sdc"] }, hosts));
    expect(ok.problems).toEqual([]);
    expect(bad.problems[0]).toMatch(/not one of node2's dataDisks/);
  });
});

describe("storagePools, dockerVolumePool, volumePluginPool", () => {
  const POOLS = { protectionDomain: "pd1", storagePool: "sp1", mediaType: "HDD" as const };
  const read = (values: Values) =>
    run(values, (c) => readStoragePools(c, { ...POOLS, diskCount: 2, nodes: THREE }));
  const TWO = [
    { name: "fast", mediaType: "SSD", disks: [1] },
    { name: "capacity", mediaType: "HDD", disks: [2] },
  ];
  it.each([
    [
      "absent: the single pool of the old keys",
      {},
      { storagePools: undefined, storagePool: "sp1", mediaType: "HDD" },
      [],
    ],
    [
      "two tiers; the first is storagePool",
      { storagePools: TWO, dockerVolumePool: "capacity" },
      {
        storagePools: [
          { name: "fast", mediaType: "SSD", protectionDomain: "pd1", disks: [1] },
          { name: "capacity", mediaType: "HDD", protectionDomain: "pd1", disks: [2] },
        ],
        storagePool: "fast",
        mediaType: "SSD",
        dockerVolumePool: "capacity",
        volumePluginPool: undefined,
      },
      [],
    ],
    [
      "devices per node, own protection domain, the rest to a pool without disks",
      {
        storagePools: [
          { name: "a", protectionDomain: "pd2", devices: { node1: ["/dev/sdc"] } },
          { name: "b" },
        ],
      },
      {
        storagePools: [
          {
            name: "a",
            mediaType: "HDD",
            protectionDomain: "pd2",
            devices: { node1: ["/dev/sdc"] },
          },
          { name: "b", mediaType: "HDD", protectionDomain: "pd1" },
        ],
      },
      [],
    ],
    [
      "not a list",
      { storagePools: { name: "fast" } },
      { storagePools: undefined },
      [
        /arrowhead:storagePools: must be a list of 1 to 16 pools\. Example: arrowhead:storagePools: \[\{name: fast/,
      ],
    ],
    [
      "with storagePool",
      { storagePools: TWO, storagePool: "sp1" },
      {},
      [/arrowhead:storagePool: is set together with storagePools/],
    ],
    [
      "bad name",
      { storagePools: [{ name: "-x" }] },
      {},
      [/storagePools\[0\]\.name: "-x" is not a valid ScaleIO name.*Example: name: pool1/],
    ],
    [
      "media lower case",
      { storagePools: [{ name: "f", mediaType: "ssd" }] },
      {},
      [
        /storagePools\[0\]\.mediaType: "ssd" is not one of HDD, SSD, Transitional.*did you mean "SSD".*Example: mediaType: SSD/,
      ],
    ],
    [
      "Flash is no media type",
      { storagePools: [{ name: "f", mediaType: "Flash" }] },
      {},
      [/"Flash" is not one of HDD, SSD, Transitional/],
    ],
    [
      "disk beyond sdsDisks.count",
      { storagePools: [{ name: "f", disks: [3] }] },
      {},
      [
        /storagePools\[0\]\.disks: \[3\] must list data disk numbers from 1 to 2.*sdsDisks.count is 2/,
      ],
    ],
    [
      "a disk in two pools",
      {
        storagePools: [
          { name: "a", disks: [1] },
          { name: "b", disks: [1, 2] },
        ],
      },
      {},
      [/data disk 1 is in two pools \(a and b\)/],
    ],
    [
      "two catch-all pools",
      { storagePools: [{ name: "a" }, { name: "b" }] },
      {},
      [/a and b name no disks or devices/],
    ],
    [
      "same name twice",
      {
        storagePools: [
          { name: "a", disks: [1] },
          { name: "a", disks: [2] },
        ],
      },
      {},
      [/storagePools\[1\]\.name: "a" is used twice/],
    ],
    ["unknown field", { storagePools: [{ name: "a", size: 9 }] }, {}, [/unknown field\(s\) size/]],
    [
      "devices of a non-SDS node",
      { storagePools: [{ name: "a", devices: { node9: ["/dev/sdc"] } }] },
      {},
      [/devices\.node9: "node9" is not an SDS node/],
    ],
    [
      "devices not a path",
      { storagePools: [{ name: "a", devices: { node1: ["sdc"] } }] },
      {},
      [/devices\.node1: "sdc" is not a device path/],
    ],
    [
      "unknown docker pool",
      { storagePools: TWO, dockerVolumePool: "slow" },
      { dockerVolumePool: undefined },
      [
        /arrowhead:dockerVolumePool: "slow" is not one of the stack's storage pools \(fast, capacity\)\. Example: arrowhead:dockerVolumePool: capacity/,
      ],
    ],
    ["plugin pool of the old keys", { volumePluginPool: "sp1" }, { volumePluginPool: "sp1" }, []],
    [
      "unknown plugin pool",
      { volumePluginPool: "fast" },
      {},
      [/arrowhead:volumePluginPool: "fast" is not one of the stack's storage pools \(sp1\)/],
    ],
  ])("%s", (_, values, expected, messages) => {
    const r = read(values);
    expect(r.value).toMatchObject(expected);
    expect(r.problems).toHaveLength(messages.length);
    messages.forEach((m, i) => expect(r.problems[i]).toMatch(m));
  });

  it("on existing hosts, devices and disk numbers each host has", () => {
    const hosts = [{ name: "node1", dataDisks: ["/dev/sdb"] }] as never;
    const pools = [
      {
        name: "a",
        mediaType: "SSD" as const,
        protectionDomain: "pd1",
        devices: { node1: ["/dev/sdc"] },
        disks: [2],
      },
    ];
    const r = run({}, (c) => checkPoolDevicesAgainstHosts(c, pools, hosts));
    expect(r.problems[0]).toMatch(
      /storagePools\[0\]\.devices\.node1: \/dev\/sdc is not one of node1's dataDisks \(\/dev\/sdb\)/,
    );
    expect(r.problems[1]).toMatch(
      /storagePools\[0\]\.disks: node1 has 1 dataDisks, so it has no data disk 2/,
    );
  });
});

describe("cloud sections: one reader per cloud, registered once", () => {
  const host = (i: number) => ({
    name: `node${i + 1}`,
    address: `192.0.2.${11 + i}`,
    hostKey: KEY,
    dataDisks: ["/dev/sdb"],
  });
  const good: Record<CloudName, Values> = {
    local: { local: { baseImage: "/images/c7.qcow2" } },
    aws: { aws: { region: "eu-west-1" } },
    gcp: { gcp: { region: "europe-west1", zone: "europe-west1-b" } },
    azure: { azure: { location: "westeurope" } },
    digitalocean: { digitalocean: { region: "fra1" } },
    existing: { hosts: [0, 1, 2].map(host) },
  };
  const defaults: Record<CloudName, Values> = {
    local: { ...DEFAULTS.local },
    aws: { ...DEFAULTS.aws },
    gcp: { ...DEFAULTS.gcp },
    azure: { ...DEFAULTS.azure },
    digitalocean: { ...DEFAULTS.digitalocean },
    existing: {},
  };

  it.each(CLOUDS)("%s: the defaults of defaults.ts; nothing missing is accepted", (cloud) => {
    const read = (values: Values) =>
      run(values, (c) => CLOUD_READERS[cloud](new CloudReader(cloud, c), THREE));
    const r = read(good[cloud]);
    expect(r.problems).toEqual([]);
    if (cloud === "existing")
      expect((r.value as { port: number; user: string }[])[0]).toMatchObject(DEFAULTS.host);
    else expect(r.value).toMatchObject(defaults[cloud]);
    expect(read({}).problems.length).toBeGreaterThan(0);
    for (const p of read({}).problems) expect(p).toMatch(/^arrowhead:\S+: .*Example: /);
  });

  it("the whole spec carries only its own cloud's section", () => {
    const spec = readSpec(
      raw({ cloud: "aws", allowedCidr: "203.0.113.7/32", ...PW, ...good.aws }),
      "dev",
    );
    expect(spec.cloud).toBe("aws");
    expect(spec.aws?.instanceType).toBe(DEFAULTS.aws.instanceType);
    expect(Object.keys(spec).filter((k) => (CLOUDS as string[]).includes(k))).toEqual(["aws"]);
  });
});
