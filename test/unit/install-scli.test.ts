import { describe, expect, it } from "vitest";
import {
  classifyFailure,
  drvCfg,
  objectName,
  parseDrvQueryVols,
  parseLogin,
  parseQueryAll,
  parseQueryCluster,
  parseSdcs,
  parseSds,
  parseSdsDevices,
  parseVolumes,
  Scli,
  volumeDevicePath,
} from "../../src/install/scli";

const IPS = ["10.0.0.1", "10.0.0.2"];

describe("scli builders", () => {
  const s3 = new Scli("3.x", IPS);
  const s2 = new Scli("2.x", IPS);
  const s13 = new Scli("1.3x", IPS);

  it("every command carries both manager IPs", () => {
    for (const c of [
      s3.queryCluster(),
      s3.addProtectionDomain("pd1"),
      s2.addVolume("pd1", "sp1", 8, "v"),
      s13.switchClusterMode("3_node", [], []),
      s3.login("admin", "MDM_PASSWORD"),
    ]) {
      expect(c.line).toContain("--mdm_ip 10.0.0.1,10.0.0.2");
      expect(c.line).toMatch(/^(printf '%s\\n' ("\$[A-Z_]+" ?)+ \| )?scli /);
    }
  });
  it("creates the cluster per dialect", () => {
    expect(s2.createCluster({ ip: "10.0.0.1", name: "mdm1" }).line).toMatch(
      /^scli --create_mdm_cluster --master_mdm_ip 10\.0\.0\.1 --master_mdm_management_ip 10\.0\.0\.1 --master_mdm_name mdm1 --accept_license --approve_certificate/,
    );
    expect(s13.createCluster({ ip: "10.0.0.1", name: "mdm1" }).line).toMatch(
      /^scli --mdm --add_primary_mdm --primary_mdm_ip 10\.0\.0\.1 --mdm_management_ip 10\.0\.0\.1 --accept_license/,
    );
  });
  it("passwords go to scli's stdin from printf (a shell builtin), never into its argv", () => {
    const c = s3.setPassword("MDM_DEFAULT_PASSWORD", "MDM_PASSWORD");
    expect(c.line).toBe(
      `printf '%s\\n' "$MDM_DEFAULT_PASSWORD" "$MDM_PASSWORD" "$MDM_PASSWORD" | ` +
        "scli --set_password --mdm_ip 10.0.0.1,10.0.0.2 --approve_certificate",
    );
    expect(c.secrets).toEqual(["MDM_DEFAULT_PASSWORD", "MDM_PASSWORD"]);
    for (const s of [s3, s2, s13]) {
      const l = s.login("admin", "MDM_PASSWORD");
      expect(l.line).toMatch(/^printf '%s\\n' "\$MDM_PASSWORD" \| scli --login --username admin /);
      expect(l.line).not.toContain("--password");
      expect(l.secrets).toEqual(["MDM_PASSWORD"]);
    }
    // Every other command keeps stdin closed.
    expect(s3.queryCluster().line).toMatch(/ <\/dev\/null$/);
    expect(() => s3.login("admin", "bad name")).toThrow(/invalid environment variable name/);
  });
  it("adds the media type only on 3.x", () => {
    expect(s3.addStoragePool("pd1", "sp1", "HDD").line).toContain(
      "--storage_pool_name sp1 --media_type HDD",
    );
    expect(s2.addStoragePool("pd1", "sp1", "HDD").line).not.toContain("--media_type");
  });
  it("standby MDMs, cluster mode, SDS, volumes", () => {
    expect(s3.addStandby({ ip: "10.0.0.2", name: "node2" }, "manager").line).toContain(
      "--add_standby_mdm --new_mdm_ip 10.0.0.2 --mdm_role manager --new_mdm_management_ip 10.0.0.2 --new_mdm_name node2",
    );
    expect(s3.addStandby({ ip: "10.0.0.3", name: "node3" }, "tb").line).toContain(
      "--mdm_role tb --new_mdm_name node3",
    );
    expect(s13.addStandby({ ip: "10.0.0.3", name: "tb" }, "tb").line).toContain(
      "--add_tb --tb_ip 10.0.0.3",
    );
    expect(s3.switchClusterMode("5_node", ["a", "b"], ["c", "d"]).line).toContain(
      "--switch_cluster_mode --cluster_mode 5_node --add_slave_mdm_name a,b --add_tb_name c,d",
    );
    // Only the members still missing are named; an empty list is left out, not passed as "".
    const onlySlave = s3.switchClusterMode("3_node", ["b"], []).line;
    expect(onlySlave).toContain(
      "--switch_cluster_mode --cluster_mode 3_node --add_slave_mdm_name b",
    );
    expect(onlySlave).not.toContain("--add_tb_name");
    expect(s3.addSds("10.0.0.1", ["/dev/vdb", "/dev/vdc"], "node1", "pd1", "sp1").line).toContain(
      "--add_sds --sds_ip 10.0.0.1 --device_path /dev/vdb,/dev/vdc --sds_name node1 --protection_domain_name pd1 --storage_pool_name sp1",
    );
    // Storage tiers: one pool per device, in device order; one pool said once.
    expect(
      s3.addSds("10.0.0.1", ["/dev/vdb", "/dev/vdc"], "node1", "pd1", ["fast", "capacity"]).line,
    ).toContain(
      "--device_path /dev/vdb,/dev/vdc --sds_name node1 --protection_domain_name pd1 --storage_pool_name fast,capacity",
    );
    expect(
      s3.addSds("10.0.0.1", ["/dev/vdb", "/dev/vdc"], "node1", "pd1", ["fast", "fast"]).line,
    ).toContain("--storage_pool_name fast --mdm_ip");
    expect(s3.addStoragePool("pd1", "fast", "SSD").line).toContain(
      "--add_storage_pool --protection_domain_name pd1 --storage_pool_name fast --media_type SSD",
    );
    expect(new Scli("2.x", ["10.0.0.1"]).addStoragePool("pd1", "fast", "SSD").line).not.toContain(
      "--media_type",
    );
    expect(s3.addSdsDevice("node1", "/dev/vdd", "capacity").line).toContain(
      "--add_sds_device --sds_name node1 --storage_pool_name capacity --device_path /dev/vdd",
    );
    expect(s3.removeSdsDevice("node1", "/dev/vdd").line).toContain(
      "--remove_sds_device --sds_name node1 --device_path /dev/vdd",
    );
    expect(s3.removeStoragePool("pd1", "fast").line).toContain(
      "--remove_storage_pool --protection_domain_name pd1 --storage_pool_name fast",
    );
    expect(s3.querySds("10.0.0.1").line).toContain("--query_sds --sds_ip 10.0.0.1");
    expect(s3.mapVolume("v1", "10.0.0.3").line).toContain(
      "--map_volume_to_sdc --volume_name v1 --sdc_ip 10.0.0.3",
    );
    expect(s3.removeVolume("v1").line).toContain("--i_am_sure");
  });
  it("quotes names with shell characters", () => {
    expect(s3.renameSystem("my cluster;rm").line).toContain("--new_name 'my cluster;rm'");
  });
});

describe("scli parsers", () => {
  it("login line", () => {
    expect(parseLogin("Logged in. User role is SuperUser. System ID is 1A2B3C4D5E6F7A8B")).toEqual({
      role: "SuperUser",
      systemId: "1a2b3c4d5e6f7a8b",
    });
    expect(
      parseLogin("Error: MDM failed command.  Status: Invalid username or password"),
    ).toBeUndefined();
  });
  it("--query_cluster (2.x format)", () => {
    const out = [
      "Cluster:",
      "    Mode: 3_node, State: Normal, Active: 3/3, Replicas: 2/2",
      "    Virtual IPs: N/A",
      "Master MDM:",
      "    Name: node1, ID: 0x5d2f1c3b00000000",
      "        IPs: 10.0.0.1, Management IPs: 10.0.0.1, Port: 9011, Virtual IP interfaces: N/A",
      "        Version: 3.6.700",
      "Slave MDMs:",
      "    Name: node2, ID: 0x5d2f1c3b00000001",
      "        IPs: 10.0.0.2, Management IPs: 10.0.0.2, Port: 9011, Virtual IP interfaces: N/A",
      "        Status: Normal, Version: 3.6.700",
      "Tie-Breakers:",
      "    Name: node3, ID: 0x5d2f1c3b00000002",
      "        IPs: 10.0.0.3, Port: 9011",
      "        Status: Normal, Version: 3.6.700",
      "Standby MDMs:",
      "    Name: node4, ID: 0x5d2f1c3b00000003, Manager",
      "        IPs: 10.0.0.4, 10.1.0.4, Management IPs: 10.0.0.4, Port: 9011, Virtual IP interfaces: N/A",
    ].join("\n");
    const c = parseQueryCluster(out);
    expect(c).toMatchObject({ mode: "3_node", state: "Normal", active: "3/3", replicas: "2/2" });
    expect(c.master).toMatchObject({ name: "node1", ips: ["10.0.0.1"] });
    expect(c.slaves).toEqual([
      expect.objectContaining({ name: "node2", ips: ["10.0.0.2"], status: "Normal" }),
    ]);
    expect(c.tieBreakers[0]).toMatchObject({ name: "node3", ips: ["10.0.0.3"] });
    expect(c.standbys[0]).toMatchObject({
      name: "node4",
      role: "Manager",
      ips: ["10.0.0.4", "10.1.0.4"],
    });
  });
  it("--query_cluster of a 1_node cluster and garbage", () => {
    const c = parseQueryCluster(
      "Cluster:\n    Mode: 1_node, State: Not clustered, Active: 1/1, Replicas: 1/1\nMaster MDM:\n    Name: m, ID: 0x1\n        IPs: 10.0.0.1, Port: 9011",
    );
    expect(c.mode).toBe("1_node");
    expect(c.slaves).toEqual([]);
    expect(() => parseQueryCluster("Error: whatever")).toThrow(
      /unexpected scli --query_cluster output/,
    );
  });
  it("--query_all_volumes", () => {
    const out = [
      "Query-all-volumes returned 2 volumes",
      "Protection Domain 9a8b000000000000 Name: pd1",
      "Storage Pool 7c6d000000000000 Name: sp1",
      " Volume ID: 6E2B2B3400000000 Name: docker_node1 Size: 8.0 GB (8192 MB) Mapped to 1 SDC Thick-provisioned",
      " Volume ID: 6e2b2b3500000001 Name: vol2 Size: 16.0 GB (16384 MB) Unmapped Thin-provisioned",
    ].join("\n");
    const common = { snapshot: false, protectionDomain: "pd1", storagePool: "sp1" };
    expect(parseVolumes(out)).toEqual([
      {
        id: "6e2b2b3400000000",
        name: "docker_node1",
        sizeGb: 8,
        mappedSdcs: 1,
        thin: false,
        ...common,
      },
      { id: "6e2b2b3500000001", name: "vol2", sizeGb: 16, mappedSdcs: 0, thin: true, ...common },
    ]);
  });
  it("--query_all_sds", () => {
    const out =
      "Query-all-SDS returned 1 SDS nodes.\nProtection Domain 9a8b Name: pd1\n" +
      "SDS ID: 1f2e000000000000 Name: node1 State: Connected, Joined IP: 10.0.0.1 Port: 7072 Version: 3.6.700";
    expect(parseSds(out)).toEqual([
      {
        id: "1f2e000000000000",
        name: "node1",
        state: "Connected",
        ip: "10.0.0.1",
        protectionDomain: "pd1",
      },
    ]);
  });
  it("--query_all_sdc", () => {
    const out =
      "MDM restricted SDC mode: Disabled\nQuery all SDC returned 1 SDC nodes.\n" +
      "SDC ID: 3c4d000000000000 Name: N/A IP: 10.0.0.2 State: Connected GUID: 5A1E2B3C-0000-4000-8000-000000000001 OS Type: LINUX Loaded Version: 3.6.700";
    expect(parseSdcs(out)).toEqual([
      {
        id: "3c4d000000000000",
        name: undefined,
        ip: "10.0.0.2",
        state: "Connected",
        guid: "5A1E2B3C-0000-4000-8000-000000000001",
      },
    ]);
  });
  it("--query_all (system name, protection domains, pools)", () => {
    const out = [
      "System Info:",
      "\tProduct:  EMC ScaleIO Version: R3_6.700.103",
      "\tID:      1a2b3c4d5e6f7a8b",
      "\tName:    lab",
      "\tCluster mode: 3_node",
      "",
      "Protection Domains: 1, Storage Pools: 1, SDS: 3, SDC: 3, Volumes: 0",
      "Protection Domain 9a8b000000000000 (Name: pd1)",
      "\tStorage Pool 7c6d000000000000 (Name: sp1), Media type: HDD, Usable capacity: 180 GB, Thick volumes: 0 GB",
    ].join("\n");
    expect(parseQueryAll(out)).toEqual({
      id: "1a2b3c4d5e6f7a8b",
      name: "lab",
      protectionDomains: [
        {
          id: "9a8b000000000000",
          name: "pd1",
          pools: [{ id: "7c6d000000000000", name: "sp1", mediaType: "HDD" }],
        },
      ],
    });
    expect(parseQueryAll("System Info:\n\tID:      1a2b\n\tName:    N/A\n").name).toBeUndefined();
  });
  it("--query_sds (devices and their pools, 2.0.12000 layout)", () => {
    const out = [
      "SDS 9a3b5c7d00000001 Name: node1 Version: 3.6.700",
      "Protection Domain: 4bd2c1e700000000, Name: pd1",
      "IP information total 1 IPs:",
      "     1: 10.0.0.1     Role: All SDS and SDC",
      "    Port: 7072",
      "Device information total 2 devices:",
      "     1: Name: N/A  Path: /dev/vdb  Original-path: /dev/vdb  ID: 1c2d3e4f00010000",
      "        Storage Pool: fast, Capacity: 120.0 GB State: Normal",
      "     2: Name: N/A  Path: /dev/scinia  Original-path: /dev/vdc  ID: 1c2d3e4f00010001",
      "        Storage Pool: capacity, Capacity: 120.0 GB State: Normal",
    ].join("\n");
    expect(parseSdsDevices(out)).toEqual({
      protectionDomain: "pd1",
      devices: [
        { path: "/dev/vdb", pool: "fast" },
        { path: "/dev/vdc", pool: "capacity" },
      ],
    });
    expect(parseSdsDevices("SDS 1 Name: x")).toEqual({ devices: [] });
  });

  it("drv_cfg --query_vols", () => {
    expect(
      parseDrvQueryVols(
        "Retrieved 2 volume(s)\nVOL-ID 6e2b2b3400000000 MDM-ID 1A2B3C4D5E6F7A8B\nVOL-ID 6e2b2b3500000001 MDM-ID 1a2b3c4d5e6f7a8b\n",
      ),
    ).toEqual([
      { volumeId: "6e2b2b3400000000", systemId: "1a2b3c4d5e6f7a8b" },
      { volumeId: "6e2b2b3500000001", systemId: "1a2b3c4d5e6f7a8b" },
    ]);
    expect(parseDrvQueryVols("Retrieved 0 volume(s)")).toEqual([]);
    expect(drvCfg("--query_vols")).toContain("/opt/emc/scaleio/sdc/bin/drv_cfg");
  });
  it("classifies failures", () => {
    expect(
      classifyFailure("Error: MDM failed command.  Status: Invalid username or password"),
    ).toBe("auth");
    expect(
      classifyFailure(
        "Error: MDM failed command.  Status: A Protection Domain with the name pd1 already exists",
      ),
    ).toBe("exists");
    expect(
      classifyFailure(
        "Error: Failed to connect to MDM 10.0.0.1: the MDM cluster has not been created yet on 10.0.0.1",
      ),
    ).toBe("no-cluster");
    expect(
      classifyFailure("Error: Failed to connect to MDM 10.0.0.1: no MDM answers at 10.0.0.1"),
    ).toBe("unreachable");
    expect(classifyFailure("Error: MDM failed command.  Status: Could not find the SDC")).toBe(
      "not-found",
    );
    expect(
      classifyFailure(
        "Error: MDM failed command.  Status: Permission denied. Please login first (scli --login)",
      ),
    ).toBe("no-session");
  });
  it("names and devices", () => {
    expect(volumeDevicePath("1a2b", "6e2b")).toBe("/dev/disk/by-id/emc-vol-1a2b-6e2b");
    expect(objectName("docker_node1")).toBe("docker_node1");
    expect(objectName("docker node.1")).toMatch(/^docker_node_1-[0-9a-f]{8}$/);
    expect(objectName("x".repeat(40))).toHaveLength(31);
  });
});
