import { describe, expect, it } from "vitest";
import { ConfigError, readSpec, type RawConfig } from "../../src/config";
import { rawConfig } from "./support/raw-config";

/** A RawConfig over plain values; secrets are just "set". */
function raw(
  values: Record<string, unknown>,
  secrets: string[] = ["mdmPassword", "gatewayPassword"],
): RawConfig {
  // A secret is "set" when listed, or when the test gives it a value (its text is never read).
  return rawConfig(values, secrets);
}
/** The user's own key pair: existing hosts accept no key the stack would generate. */
const USER_KEY = {
  sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me",
  sshPrivateKey: "(secret)",
};
const base = { cloud: "aws", allowedCidr: "203.0.113.7/32", aws: { region: "eu-west-1" } };

function problems(values: Record<string, unknown>, secrets?: string[]): string[] {
  try {
    readSpec(raw(values, secrets), "dev");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("readSpec defaults", () => {
  it("gives the 3-node layout of the original lab", () => {
    const spec = readSpec(raw(base), "dev");
    expect(spec.os).toBe("centos7");
    expect(spec.clusterMode).toBe("3_node");
    expect(spec.nodes).toEqual([
      { name: "node1", roles: ["mdm", "sds", "sdc", "docker", "gateway"] },
      { name: "node2", roles: ["mdm", "sds", "sdc", "docker"] },
      { name: "node3", roles: ["mdm", "sds", "sdc", "docker"] },
    ]);
    expect(spec.sdsDisks).toEqual({ count: 1, sizeGb: 100 });
    expect(spec.dockerVolumeSizeGb).toBe(16);
    expect([spec.protectionDomain, spec.storagePool, spec.mediaType]).toEqual([
      "pd1",
      "sp1",
      "HDD",
    ]);
    expect(spec.clusterName).toBe("arrowhead-dev");
    expect(spec.aws).toEqual({
      region: "eu-west-1",
      instanceType: "t3.xlarge",
      vpcCidr: "10.20.0.0/24",
      availabilityZone: undefined,
    });
  });

  it("accepts explicit nodes with extra client-only nodes", () => {
    const spec = readSpec(
      raw({
        ...base,
        nodes: [
          { name: "a", roles: ["mdm", "sds", "gateway"] },
          { name: "b", roles: ["mdm", "sds"] },
          { name: "c", roles: ["mdm", "sds"] },
          { name: "d", roles: ["sdc", "docker"] },
        ],
      }),
      "dev",
    );
    expect(spec.nodes.map((n) => n.name)).toEqual(["a", "b", "c", "d"]);
  });
});

describe("readSpec rejects bad input, naming the key, the problem and an example", () => {
  it("fewer than 3 SDS", () => {
    const p = problems({
      ...base,
      nodes: [
        { name: "a", roles: ["mdm", "sds", "gateway"] },
        { name: "b", roles: ["mdm", "sds"] },
        { name: "c", roles: ["mdm", "sdc"] },
      ],
    });
    expect(p.join("\n")).toMatch(
      /arrowhead:nodes: ScaleIO needs at least 3 SDS nodes .* but 2 have role "sds"\. Example:/,
    );
  });

  it("a volume size that is not a multiple of 8 GB: rejected, not rounded, with the rounded value", () => {
    const p = problems({ ...base, dockerVolumeSizeGb: "20" });
    expect(p).toEqual([
      "arrowhead:dockerVolumeSizeGb: 20 is not a multiple of 8 GB; ScaleIO allocates volumes in 8 GB units and would round it up to 24, so Arrowhead rejects it instead of rounding silently. Example: arrowhead:dockerVolumeSizeGb: 24",
    ]);
  });

  it("a volume below 8 GB", () => {
    expect(problems({ ...base, dockerVolumeSizeGb: "4" })[0]).toMatch(
      /dockerVolumeSizeGb: "4" must be a whole number of GB, at least 8/,
    );
  });

  it("a 5-node cluster with fewer than 5 MDM-capable nodes", () => {
    const p = problems({
      ...base,
      clusterMode: "5_node",
      nodes: [
        { name: "a", roles: ["mdm", "sds", "sdc", "gateway"] },
        { name: "b", roles: ["mdm", "sds", "sdc"] },
        { name: "c", roles: ["mdm", "sds", "sdc"] },
        { name: "d", roles: ["mdm", "sds", "sdc"] },
        { name: "e", roles: ["sds", "sdc"] },
      ],
    });
    expect(p).toEqual([
      'arrowhead:nodes: a 5_node MDM cluster needs 5 MDM-capable nodes (role "mdm"), but 4 are listed. Example: give 5 nodes roles [mdm, sds, sdc, docker], or set arrowhead:clusterMode: 3_node. Taking an MDM node out of a running cluster: give role "mdm" to another node in the same change (it joins as a standby and takes the role over, then the old one leaves; README "Day 2")',
    ]);
  });

  it.each(["gcp", "digitalocean"])(
    "CentOS 7 on %s names rocky8/rocky9 or a custom image",
    (cloud) => {
      const p = problems({
        cloud,
        allowedCidr: "203.0.113.7/32",
        gcp: { region: "europe-west1", zone: "europe-west1-b" },
        digitalocean: { region: "fra1" },
      });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(
        /^arrowhead:os: CentOS 7 has no public image on (GCP|DigitalOcean) any more .*use rocky8 or rocky9, or name your own CentOS 7 image in arrowhead:image\. Example: arrowhead:os: rocky8$/,
      );
    },
  );

  it("accepts CentOS 7 on GCP with an explicit image", () => {
    expect(() =>
      readSpec(
        raw({
          cloud: "gcp",
          image: "projects/me/global/images/c7",
          allowedCidr: "203.0.113.7/32",
          gcp: { region: "r1", zone: "r1-b" },
        }),
        "dev",
      ),
    ).not.toThrow();
  });

  it("missing passwords: required secrets, never defaulted", () => {
    const p = problems(base, []);
    expect(p).toEqual([
      "arrowhead:mdmPassword: is required and has no default; set it as a secret. Example: pulumi config set --secret arrowhead:mdmPassword 'Str0ng!Passw0rd'",
      "arrowhead:gatewayPassword: is required and has no default; set it as a secret. Example: pulumi config set --secret arrowhead:gatewayPassword 'Str0ng!Passw0rd'",
    ]);
  });

  it("an unknown cloud, OS or media type", () => {
    const p = problems({ ...base, cloud: "vagrant", os: "centos6", mediaType: "NVMe" });
    expect(p).toContain(
      'arrowhead:cloud: "vagrant" is not one of local, aws, gcp, azure, digitalocean, existing. Example: arrowhead:cloud: aws',
    );
    expect(p).toContain(
      'arrowhead:os: "centos6" is not one of centos7, rocky8, rocky9 (did you mean "centos7"?). Example: arrowhead:os: centos7',
    );
    expect(p).toContain(
      'arrowhead:mediaType: "NVMe" is not one of HDD, SSD, Transitional. Example: arrowhead:mediaType: SSD',
    );
  });

  it("no allowed CIDR on a cloud, or a malformed one", () => {
    expect(problems({ cloud: "aws", aws: { region: "eu-west-1" } })[0]).toMatch(
      /^arrowhead:allowedCidr: is required on aws: .*never defaulted to 0\.0\.0\.0\/0/,
    );
    expect(problems({ ...base, allowedCidr: "10.0.0.300/8" })[0]).toMatch(
      /allowedCidr: "10\.0\.0\.300\/8" is not an IPv4 CIDR/,
    );
  });

  it("SDS disks too small or too many", () => {
    const p = problems({ ...base, sdsDisks: { count: 9, sizeGb: 50 } });
    expect(p[0]).toMatch(/^arrowhead:sdsDisks\.count: 9 must be a whole number from 1 to 8/);
    expect(p[1]).toMatch(
      /^arrowhead:sdsDisks\.sizeGb: 50 is too small: an SDS device must be at least 100 GB/,
    );
  });

  it("half an SSH key pair", () => {
    const p = problems({
      ...base,
      sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserUserUserUserUserUserUserUserUser me",
    });
    expect(p[0]).toMatch(
      /^arrowhead:sshPrivateKey: set both sshPublicKey and sshPrivateKey \(secret\), or neither/,
    );
  });

  it("bad node names, unknown roles, no gateway, docker without sdc", () => {
    const p = problems({
      ...base,
      nodes: [
        { name: "Node_1", roles: ["mdm", "sds", "sdc"] },
        { name: "b", roles: ["mdm", "sds", "sdc", "kubelet"] },
        { name: "c", roles: ["mdm", "sds", "docker"] },
      ],
    });
    expect(p.join("\n")).toContain(
      'arrowhead:nodes[0].name: "Node_1" must be a lowercase hostname',
    );
    expect(p.join("\n")).toContain('arrowhead:nodes[1].roles: unknown role(s) "kubelet"');
    expect(p.join("\n")).toContain('exactly one node must have role "gateway", found 0');
    expect(p.join("\n")).toContain('node "c" has role "docker" but not "sdc"');
  });

  it("invalid ScaleIO names", () => {
    expect(problems({ ...base, protectionDomain: "pd 1" })[0]).toMatch(
      /^arrowhead:protectionDomain: "pd 1" is not a valid ScaleIO name/,
    );
  });

  it("existing hosts without host keys or devices", () => {
    const p = problems({
      ...USER_KEY,
      cloud: "existing",
      hosts: [
        {
          name: "node1",
          address: "192.0.2.1",
          dataDisks: ["/dev/sdb"],
          hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost",
        },
        {
          name: "node2",
          address: "192.0.2.2",
          dataDisks: [],
          hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost",
        },
        { name: "node3", address: "192.0.2.3", dataDisks: ["/dev/sdb"] },
      ],
    });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(
      /^arrowhead:hosts\[1\]\.dataDisks: SDS node "node2" needs at least one raw device/,
    );
    expect(p[1]).toMatch(
      /^arrowhead:hosts\[2\]\.hostKey: the host's SSH public key is required .*ssh-keyscan -t ed25519 192\.0\.2\.3/,
    );
  });

  it("a mistyped cloud (AWS) is one message with the valid values and a did-you-mean, nothing about other clouds", () => {
    expect(problems({ ...base, cloud: "AWS" })).toEqual([
      'arrowhead:cloud: "AWS" is not one of local, aws, gcp, azure, digitalocean, existing (did you mean "aws"?). Example: arrowhead:cloud: aws',
    ]);
    // Also without any cloud's keys set (no "local.baseImage is required", no allowedCidr).
    expect(problems({ cloud: "gpc" })).toEqual([
      'arrowhead:cloud: "gpc" is not one of local, aws, gcp, azure, digitalocean, existing (did you mean "gcp"?). Example: arrowhead:cloud: gcp',
    ]);
    expect(problems({ cloud: "vagrant" })).toEqual([
      'arrowhead:cloud: "vagrant" is not one of local, aws, gcp, azure, digitalocean, existing. Example: arrowhead:cloud: aws',
    ]);
  });

  it("a mistyped os on GCP is one message, not also one about CentOS 7 images", () => {
    expect(
      problems({
        cloud: "gcp",
        os: "rocky",
        allowedCidr: "203.0.113.7/32",
        gcp: { region: "europe-west1", zone: "europe-west1-b" },
      }),
    ).toEqual([
      'arrowhead:os: "rocky" is not one of centos7, rocky8, rocky9. Example: arrowhead:os: rocky9',
    ]);
  });

  it("one bad nodeCount is one message, naming the key and a right value", () => {
    for (const n of ["abc", "2", "0", "3.5", "65"]) {
      expect(problems({ ...base, nodeCount: n })).toEqual([
        `arrowhead:nodeCount: "${n}" must be a whole number from 3 to 64 (a 3_node cluster needs 3 MDM nodes, and every node runs an SDS). Example: arrowhead:nodeCount: 3`,
      ]);
    }
    expect(problems({ ...base, clusterMode: "5_node", nodeCount: "4" })).toEqual([
      expect.stringMatching(
        /^arrowhead:nodeCount: "4" must be a whole number from 5 to 64 .*nodeCount: 5$/,
      ),
    ]);
    expect(problems({ ...base, nodes: "node1" })).toHaveLength(1);
  });

  it("allowedCidr 0.0.0.0/0 is refused unless exposeToInternet says so, then it is a warning", () => {
    const p = problems({ ...base, allowedCidr: "0.0.0.0/0" });
    expect(p).toEqual([
      expect.stringMatching(
        /^arrowhead:allowedCidr: 0\.0\.0\.0\/0 opens SSH and the gateway's admin API \(443\) to the whole internet.*arrowhead:exposeToInternet: true\. Example: arrowhead:allowedCidr: 203\.0\.113\.7\/32/,
      ),
    ]);
    // Any /0 is the whole internet.
    expect(problems({ ...base, allowedCidr: "10.0.0.0/0" })).toHaveLength(1);
    const open = readSpec(
      raw({ ...base, allowedCidr: "0.0.0.0/0", exposeToInternet: "true" }),
      "dev",
    );
    expect(open.allowedCidr).toBe("0.0.0.0/0");
    expect(open.warnings).toEqual([
      expect.stringMatching(
        /^arrowhead:allowedCidr: 0\.0\.0\.0\/0 with arrowhead:exposeToInternet: true: SSH and the gateway/,
      ),
    ]);
    expect(readSpec(raw(base), "dev").warnings).toEqual([]);
    expect(readSpec(raw({ ...base, exposeToInternet: "true" }), "dev").warnings).toEqual([
      expect.stringMatching(/exposeToInternet: true has no effect/),
    ]);
    expect(problems({ ...base, exposeToInternet: "yes" })).toEqual([
      expect.stringMatching(/^arrowhead:exposeToInternet: "yes" must be true or false/),
    ]);
  });

  it("wipeDevices names SDS nodes and device paths; on existing hosts one of their dataDisks", () => {
    expect(
      readSpec(raw({ ...base, wipeDevices: { node2: ["/dev/sdb"] } }), "dev").wipeDevices,
    ).toEqual({
      node2: ["/dev/sdb"],
    });
    expect(readSpec(raw(base), "dev").wipeDevices).toEqual({});
    expect(problems({ ...base, wipeDevices: { node9: ["/dev/sdb"] } })).toEqual([
      expect.stringMatching(
        /^arrowhead:wipeDevices\.node9: "node9" is not an SDS node \(SDS nodes: node1, node2, node3\)/,
      ),
    ]);
    expect(problems({ ...base, wipeDevices: { node1: ["sdb"] } })).toEqual([
      expect.stringMatching(/^arrowhead:wipeDevices\.node1: "sdb" is not a device path/),
    ]);
    expect(problems({ ...base, wipeDevices: ["/dev/sdb"] })).toEqual([
      expect.stringMatching(/^arrowhead:wipeDevices: must map node names to lists of devices/),
    ]);
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost";
    const hosts = ["node1", "node2", "node3"].map((name, i) => ({
      name,
      address: `192.0.2.${i + 1}`,
      dataDisks: ["/dev/sdb"],
      hostKey,
    }));
    expect(
      problems({ ...USER_KEY, cloud: "existing", hosts, wipeDevices: { node2: ["/dev/sdc"] } }),
    ).toEqual([
      "arrowhead:wipeDevices.node2: /dev/sdc is not one of node2's dataDisks (/dev/sdb); only SDS devices are ever wiped. Example: arrowhead:wipeDevices: {node2: [/dev/sdb]}",
    ]);
    expect(
      readSpec(
        raw({ ...USER_KEY, cloud: "existing", hosts, wipeDevices: { node2: ["/dev/sdb"] } }),
        "dev",
      ).wipeDevices,
    ).toEqual({ node2: ["/dev/sdb"] });
  });

  it("collects every problem at once", () => {
    const p = problems({ cloud: "aws", dockerVolumeSizeGb: "12" }, []);
    expect(p.length).toBeGreaterThanOrEqual(4);
  });
});

describe("existing hosts name the nodes", () => {
  const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost";
  const hosts = (names: string[]) =>
    names.map((name, i) => ({
      name,
      address: `192.0.2.${i + 1}`,
      dataDisks: ["/dev/sdb"],
      hostKey,
    }));

  it("makes one node per host entry, by its name, the first three the MDMs", () => {
    const spec = readSpec(
      raw({ ...USER_KEY, cloud: "existing", hosts: hosts(["a", "b", "c", "d"]) }),
      "dev",
    );
    expect(spec.nodes).toEqual([
      { name: "a", roles: ["mdm", "sds", "sdc", "docker", "gateway"] },
      { name: "b", roles: ["mdm", "sds", "sdc", "docker"] },
      { name: "c", roles: ["mdm", "sds", "sdc", "docker"] },
      { name: "d", roles: ["sds", "sdc", "docker"] },
    ]);
  });

  it("storage tiers: pools over each host's dataDisks, checked against them", () => {
    const tiered = hosts(["a", "b", "c"]).map((h) => ({
      ...h,
      dataDisks: ["/dev/sdb", "/dev/sdc"],
    }));
    const pools = [
      {
        name: "fast",
        mediaType: "SSD",
        devices: { a: ["/dev/sdb"], b: ["/dev/sdb"], c: ["/dev/sdb"] },
      },
      { name: "capacity", mediaType: "HDD" },
    ];
    const spec = readSpec(
      raw({
        ...USER_KEY,
        cloud: "existing",
        hosts: tiered,
        storagePools: pools,
        dockerVolumePool: "fast",
      }),
      "dev",
    );
    expect(spec.storagePools?.map((p) => [p.name, p.mediaType, p.protectionDomain])).toEqual([
      ["fast", "SSD", "pd1"],
      ["capacity", "HDD", "pd1"],
    ]);
    expect([spec.storagePool, spec.mediaType, spec.dockerVolumePool]).toEqual([
      "fast",
      "SSD",
      "fast",
    ]);
    const wrong = [{ ...pools[0], devices: { a: ["/dev/sdd"] } }, pools[1]];
    expect(
      problems({ ...USER_KEY, cloud: "existing", hosts: tiered, storagePools: wrong }),
    ).toEqual([
      expect.stringMatching(
        /^arrowhead:storagePools\[0\]\.devices\.a: \/dev\/sdd is not one of a's dataDisks \(\/dev\/sdb, \/dev\/sdc\)\. Example: devices: \{a: \[\/dev\/sdb\]\}$/,
      ),
    ]);
  });

  it("keeps an explicit nodeCount, and refuses a host entry beyond it", () => {
    expect(
      problems({
        ...USER_KEY,
        cloud: "existing",
        nodeCount: 3,
        hosts: hosts(["node1", "node2", "node3", "x"]),
      }),
    ).toEqual([expect.stringMatching(/^arrowhead:hosts\[3\]\.name: "x" is not one of the nodes/)]);
  });
});

describe("existing hosts and the SSH key", () => {
  it("needs the user's own key: a generated one is on no existing host", () => {
    const hosts = ["node1", "node2", "node3"].map((name, i) => ({
      name,
      address: `192.0.2.${i + 1}`,
      dataDisks: ["/dev/sdb"],
      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostHostHostHostHostHostHostHostHostHost",
    }));
    expect(problems({ cloud: "existing", hosts })).toEqual([
      expect.stringMatching(
        /^arrowhead:sshPrivateKey: existing hosts need the key they already accept .*pulumi config set --secret arrowhead:sshPrivateKey < ~\/\.ssh\/id_ed25519$/,
      ),
    ]);
  });
});
