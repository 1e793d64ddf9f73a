// Hostile config values (issue 17 finding 3): every value that reaches a shell, a URL, a file or
// a command is refused by the config reader, naming the key, what is wrong and a right example,
// before any resource exists. Also: relative paths mean the project directory (issue 16).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, readSpec, type RawConfig, type Spec } from "../../src/config";
import { projectDir } from "../../src/project-dir";
import { PASSWORDS, runProgram } from "./support/program";
import { rawConfig } from "./support/raw-config";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost";
const USER_KEY = {
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me",
  sshPrivateKey: "(secret)",
};
const VAULT_PAYLOAD = `https://vault.centos.org/7.9.2009|' "$f"; id > /tmp/arrowhead-injected; : '`;

type Values = Record<string, unknown>;
const aws: Values = { cloud: "aws", allowedCidr: "203.0.113.7/32", aws: { region: "eu-west-1" } };
const gcp: Values = {
  cloud: "gcp",
  os: "rocky8",
  allowedCidr: "203.0.113.7/32",
  gcp: { region: "europe-west1", zone: "europe-west1-b" },
};
const azure: Values = { cloud: "azure", allowedCidr: "203.0.113.7/32", azure: { location: "x" } };
const digitalocean: Values = {
  cloud: "digitalocean",
  os: "rocky8",
  allowedCidr: "203.0.113.7/32",
  digitalocean: { region: "fra1" },
};
const local: Values = { cloud: "local", local: { baseImage: "~/images/centos7.qcow2" } };
const host = (i: number): Values => ({
  name: `node${i + 1}`,
  address: `192.0.2.${i + 11}`,
  privateAddress: `10.0.0.${i + 11}`,
  user: "root",
  hostKey: HOST_KEY,
  dataDisks: ["/dev/sdb"],
});
const existing: Values = { ...USER_KEY, cloud: "existing", hosts: [0, 1, 2].map(host) };

/** A RawConfig over plain values; the passwords are readable, as Pulumi's get() gives them. */
function raw(values: Values): RawConfig {
  return rawConfig({ ...PASSWORDS, ...values });
}

function problems(values: Values): string[] {
  try {
    readSpec(raw(values), "dev");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  return [];
}

/** The base config with one key (a.b: one field of section a; hosts.0.f: a field of host 0) set. */
function withValue(base: Values, k: string, value: unknown): Values {
  const [top, ...rest] = k.split(".");
  if (rest.length === 0) return { ...base, [top]: value };
  if (top === "hosts") {
    const hosts = (base.hosts as Values[]).map((h) => ({ ...h }));
    hosts[Number(rest[0])][rest[1]] = value;
    return { ...base, hosts };
  }
  return { ...base, [top]: { ...(base[top] as Values), [rest[0]]: value } };
}

/** How the key is named in messages: hosts.0.port -> hosts[0].port. */
const shownKey = (k: string) => k.replace(/^hosts\.(\d+)\./, "hosts[$1].");

// [key, base config, hostile values]
const TABLE: [string, Values, unknown[]][] = [
  [
    "centos7VaultUrl",
    aws,
    [
      VAULT_PAYLOAD,
      "https://vault.centos.org/$(id)",
      "https://vault.centos.org/`id`",
      "https://vault.centos.org/7.9.2009\nid",
      "https://vault.centos.org/7.9.2009;id",
      "https://vault.centos.org/7.9 2009",
      "https://vault.centos.org/a&b",
      "https://vault.centos.org/a\\b",
      "ftp://vault.centos.org/7.9.2009",
      "file:///etc/passwd",
      "-https://vault.centos.org",
      "https://user:pw@evil.example/centos",
      "https://vault.centos.org/7?x=1",
      "https://vault.centos.org:99999/centos",
      `https://${"a".repeat(64)}.org/centos`,
      "https://",
    ],
  ],
  [
    "dockerVolumeSizeGb",
    aws,
    ["8e300", "1e300", "-8", "NaN", "abc", "8.0", "16 ", "65544", "9".repeat(20)],
  ],
  ["sdsDisks.count", aws, ["abc", 1e300, -1, 0, 2.5, Number.NaN, "2;id"]],
  ["sdsDisks.sizeGb", aws, [-100, 1e300, Number.NaN, "100e0", 99, 10_000_000]],
  ["nodeCount", aws, ["3e0", "-3", "$(id)", "1e300", "0x3"]],
  [
    "clusterName",
    aws,
    ["--i_am_sure", "-x", "_x", "a;id", "$(id)", "`id`", "a\nb", "x".repeat(32)],
  ],
  ["protectionDomain", aws, ["-pd1", "--protection_domain_name", "pd 1", "pd|x"]],
  ["storagePool", aws, ["--sp", "sp1'", "sp$1"]],
  ["mediaType", aws, ["HDD;id", "-HDD"]],
  ["image", aws, ["ami-1;id", "$(id)", "-ami", "a b", "ami`id`", "x".repeat(300)]],
  ["allowedCidr", aws, ["10.0.0.0/8;id", "10.0.0.0/8\n", "$(id)"]],
  ["exposeToInternet", aws, ["yes; id", "1"]],
  ["volumePlugin", aws, ["1", "$(id)"]],
  ["deleteVolumes", existing, ["yes", "$(id)"]],
  ["rpmDir", aws, ["assets/rpms\n; id", "a\u0000b", "x".repeat(5000)]],
  [
    "sshPublicKey",
    { ...aws, sshPrivateKey: "(secret)" },
    [
      `${USER_KEY.sshPublicKey} $(id)`,
      `${USER_KEY.sshPublicKey}\nssh-ed25519 AAAA`,
      `${USER_KEY.sshPublicKey} "quoted"`,
    ],
  ],
  ["aws.region", aws, ["eu-west-1;id", "-eu-west-1", "$(id)", "eu west"]],
  ["aws.availabilityZone", aws, ["a b", "`id`"]],
  ["aws.instanceType", aws, ["t3.xlarge`id`", "t3.xlarge\n"]],
  ["aws.vpcCidr", aws, ["10.0.0.0/24; id", 42]],
  ["gcp.project", gcp, ["$(id)", "-p"]],
  ["gcp.machineType", gcp, ["e2;id"]],
  ["azure.location", azure, ["west europe", "x'y"]],
  ["azure.vmSize", azure, ["Standard_D4s_v5;id"]],
  ["digitalocean.region", digitalocean, ["fra1$(id)"]],
  ["digitalocean.size", digitalocean, ["s-4vcpu-8gb|id"]],
  ["local.baseImage", local, ["img\n.qcow2", "a\u0007b"]],
  ["local.cpus", local, ["abc", 1e300, -1, 2.5, Number.NaN, 1000]],
  ["local.memoryMb", local, [1e300, "3072MB", -3072]],
  ["local.bootTimeoutSeconds", local, [Number.NaN, "600s", 1e300, -1]],
  ["local.networkCidr", local, ["10.77.0.0/24; id"]],
  ["local.stateDir", local, ["\u0000x", "a\nb"]],
  ["hosts.0.name", existing, ["node1;id"]],
  ["hosts.0.port", existing, ["abc", 0, 65536, -22, 1e300, "22;id", 22.5, "0x16"]],
  [
    "hosts.0.address",
    existing,
    [
      "192.0.2.1;id",
      "-oProxyCommand=id",
      "$(id)",
      "evil.example:22",
      "a".repeat(300),
      "999.1.1.1",
      "host_1.example",
    ],
  ],
  [
    "hosts.0.privateAddress",
    existing,
    ["10.0.0.1:443@evil.example", "10.0.0.256", "evil.example", "fe80::1%eth0", "10.0.0.1\n"],
  ],
  ["hosts.0.user", existing, ["root;id", "-oProxyCommand=x", "$(id)", "a b", "x".repeat(40)]],
  ["hosts.0.hostKey", existing, [`${HOST_KEY} $(id)`, `${HOST_KEY}\nssh-rsa AAAA`]],
  [
    "hosts.0.dataDisks",
    existing,
    [
      [{}],
      ["sdb"],
      ["/dev/sdb;id"],
      ["/dev/$(id)"],
      ["/dev/../etc/passwd"],
      ["-/dev/sdb"],
      ["/dev/sdb c"],
      "/dev/sdb",
    ],
  ],
  ["wipeDevices.node1", aws, ["/dev/sdb;id", "/dev/$(id)", "/dev/", "-/dev/sdb"]],
];

describe("config: hostile values are refused, naming the key and a right example", () => {
  const rows = TABLE.flatMap(([k, base, values]) =>
    values.map((v) => [k, JSON.stringify(v), base, v] as const),
  );
  it.each(rows)("%s = %s", (k, _shown, base, value) => {
    const config =
      k === "wipeDevices.node1"
        ? { ...base, wipeDevices: { node1: [value] } }
        : withValue(base, k, value);
    const p = problems(config);
    const mine = p.filter((m) => m.startsWith(`arrowhead:${shownKey(k)}:`));
    expect(mine, p.join("\n")).not.toEqual([]);
    for (const m of mine) expect(m).toMatch(/\. Example: \S/);
  });

  it.each([
    ["mdmPassword", "Z"],
    ["gatewayPassword", "Z"],
    ["gatewayPassword", "zqxjkvbwpf"],
    ["gatewayPassword", "Zq1 Xj Kv"],
    ["gatewayPassword", "Zq1!".repeat(8)],
  ])("%s = %j: refused with the rule, never showing the value", (k, value) => {
    const p = problems({ ...aws, [k]: value });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      new RegExp(`^arrowhead:${k}: does not meet .* password rule \\(6-31 characters`),
    );
    expect(p[0]).toMatch(/\. Example: pulumi config set --secret/);
    expect(p[0]).not.toContain(value);
  });

  it("the examples in the messages are values the reader accepts", () => {
    const accepted: [Values, Partial<Spec>][] = [
      [{ ...aws, centos7VaultUrl: "https://vault.centos.org/7.9.2009" }, {}],
      [{ ...aws, centos7VaultUrl: "http://10.0.0.5:8080/centos/7.9.2009" }, {}],
      [{ ...aws, centos7VaultUrl: "https://[fd00::5]/centos" }, {}],
      [{ ...aws, clusterName: "1st-cluster_a", protectionDomain: "pd-1" }, {}],
      [{ ...aws, dockerVolumeSizeGb: "65536", sdsDisks: { count: 8, sizeGb: 65536 } }, {}],
      [{ ...aws, image: "projects/rocky-linux-cloud/global/images/rocky-linux-8" }, {}],
      [{ ...aws, deleteVolumes: "false", volumePlugin: "false", exposeToInternet: "false" }, {}],
      [withValue(existing, "hosts.0.privateAddress", "fd00::11"), {}],
      [withValue(existing, "hosts.0.address", "node1.example.com"), {}],
      [withValue(existing, "hosts.0.port", "2222"), {}],
      [withValue(existing, "hosts.0.port", 2222), {}],
      [withValue(existing, "hosts.0.user", "centos"), {}],
      [
        withValue(existing, "hosts.0.dataDisks", ["/dev/disk/by-id/nvme-Amazon_Elastic_vol0a1b"]),
        {},
      ],
    ];
    for (const [values] of accepted) expect(problems(values), JSON.stringify(values)).toEqual([]);
    const spec = readSpec(raw(withValue(existing, "hosts.0.port", "2222")), "dev");
    expect(spec.existing?.[0].port).toBe(2222);
  });

  it("the issue's vault URL payload fails the program before any resource is registered", async () => {
    const registered: string[] = [];
    await expect(
      runProgram({ ...aws, centos7VaultUrl: VAULT_PAYLOAD }, PASSWORDS, "dev", (t) =>
        registered.push(t),
      ),
    ).rejects.toThrow(/arrowhead:centos7VaultUrl: .* it contains/);
    expect(registered).toEqual([]);
  });
});

describe("config: relative paths mean the project directory, wherever pulumi started", () => {
  const cwd = process.cwd();
  afterEach(() => process.chdir(cwd));

  it("resolves rpmDir and the local paths under the folder holding Pulumi.yaml", () => {
    const project = projectDir();
    expect(fs.existsSync(path.join(project, "Pulumi.yaml"))).toBe(true);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), "ah-cwd-"));
    try {
      for (const dir of [elsewhere, path.join(project, "src")]) {
        process.chdir(dir);
        expect(process.cwd()).toBe(fs.realpathSync(dir));
        expect(readSpec(raw(aws), "dev").rpmDir).toBe(path.join(project, "assets", "rpms"));
        expect(readSpec(raw({ ...aws, rpmDir: "my-rpms" }), "dev").rpmDir).toBe(
          path.join(project, "my-rpms"),
        );
        const l = readSpec(
          raw({
            cloud: "local",
            local: {
              baseImage: "images/c7.qcow2",
              kernel: "./vmlinuz",
              initrd: "../initrd",
              stateDir: "st",
            },
          }),
          "dev",
        ).local!;
        expect([l.baseImage, l.kernel, l.initrd, l.stateDir]).toEqual([
          path.join(project, "images", "c7.qcow2"),
          path.join(project, "vmlinuz"),
          path.join(path.dirname(project), "initrd"),
          path.join(project, "st"),
        ]);
      }
    } finally {
      process.chdir(cwd);
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it("keeps absolute paths and expands ~", () => {
    const spec = readSpec(
      raw({ cloud: "local", local: { baseImage: "~/images/c7.qcow2", stateDir: "/var/tmp/ah" } }),
      "dev",
    );
    expect(spec.local?.baseImage).toBe(path.join(os.homedir(), "images", "c7.qcow2"));
    expect(spec.local?.stateDir).toBe("/var/tmp/ah");
    expect(readSpec(raw({ ...aws, rpmDir: "/srv/rpms" }), "dev").rpmDir).toBe("/srv/rpms");
  });
});
