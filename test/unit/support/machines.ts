// The machines and install spec the stage and probe unit tests run against (scripted hosts:
// nothing is reached at these addresses).
import type { InstallSpec } from "../../../src/install/spec";
import type { Machine } from "../../../src/machine";

/** node<i> at 10.0.0.<i> (public and private), SSH on 127.0.0.1:2200+i as root, /dev/vdb. */
export function testMachine(
  i: number,
  mdm: Machine["mdm"],
  services: Machine["services"] = ["sds", "sdc", "docker"],
): Machine {
  return {
    name: `node${i}`,
    mdm,
    services,
    sshHost: "127.0.0.1",
    sshPort: 2200 + i,
    sshUser: "root",
    publicAddress: `10.0.0.${i}`,
    privateAddress: `10.0.0.${i}`,
    dataDisks: ["/dev/vdb"],
    os: "centos7",
  };
}

/**
 * A 3_node cluster's spec: node1 master (with the gateway), node2 slave, node3 tie-breaker,
 * each with an SDS, an SDC and Docker; one protection domain and pool; `over` replaces fields.
 */
export function testSpec(over: Partial<InstallSpec> = {}): InstallSpec {
  const docker: Machine["services"] = ["sds", "sdc", "docker"];
  return {
    machines: [
      testMachine(1, "master", [...docker, "gateway"]),
      testMachine(2, "slave"),
      testMachine(3, "tiebreaker"),
    ],
    privateKey: "unused",
    os: "centos7",
    rpmDir: "/rpms",
    clusterName: "test",
    protectionDomain: "pd1",
    storagePool: "sp1",
    mediaType: "HDD",
    dockerVolumeGb: 8,
    mdmPassword: "Test-Mdm-Pw1",
    gatewayPassword: "Test-Gw-Pw1",
    ...over,
  };
}
