// `arrowhead:hosts`: the existing stack's own config, one entry per node (read by
// config/clouds.ts, used by existing.ts). Existing hosts are never pinned blindly: each entry
// names its SSH host key.
import type { CloudReader } from "../config/cloud-reader";
import { key, type Collector } from "../config/collector";
import { DEFAULTS } from "../config/defaults";
import type { NodeSpec } from "../config/types";
import {
  devicePathProblem,
  hostAddressProblem,
  ipAddressProblem,
  NODE_NAME,
  portProblem,
  SSH_PUBLIC_KEY,
  userNameProblem,
} from "../config/values";

export interface ExistingHostSpec {
  name: string;
  /** Address the installer reaches over SSH. */
  address: string;
  /** Cluster-network address; default: address. */
  privateAddress: string;
  port: number;
  user: string;
  /** The host's SSH public key ("ssh-ed25519 AAAA..."), required: existing hosts are never pinned blindly. */
  hostKey: string;
  dataDisks: string[];
}

const HOSTS_EXAMPLE = `hosts: [{name: node1, address: 192.0.2.11, user: root, hostKey: "ssh-ed25519 AAAA...", dataDisks: [/dev/sdb]}]`;

/** `hosts`: one entry per node on existing hosts, each checked by readHost. */
export function readExistingConfig(read: CloudReader, nodes: NodeSpec[]): ExistingHostSpec[] {
  const c = read.c;
  const hosts = c.cfg.getObject<unknown>("hosts");
  if (!Array.isArray(hosts) || hosts.length === 0) {
    c.add(
      `${key("hosts")}: the existing cloud adopts the hosts listed here, and none are listed. Example: ${HOSTS_EXAMPLE}`,
    );
    return [];
  }
  const entries = hosts.map((h) =>
    h !== null && typeof h === "object"
      ? (h as Partial<Record<keyof ExistingHostSpec, unknown>>)
      : {},
  );
  for (const n of nodes) {
    if (!entries.some((h) => h.name === n.name))
      c.add(`${key("hosts")}: node "${n.name}" has no host entry. Example: ${HOSTS_EXAMPLE}`);
  }
  return entries.map((h, i) => readHost(h, i, nodes, c));
}

/**
 * One `hosts` entry: a node's name, an address SSH reaches (IP or RFC 1123 host name), a
 * cluster-network IP address (default: address, which must then be an IP), a port, a login
 * name, the host's SSH key and its SDS devices.
 */
function readHost(
  h: Partial<Record<keyof ExistingHostSpec, unknown>>,
  i: number,
  nodes: NodeSpec[],
  c: Collector,
): ExistingHostSpec {
  const at = (f: string) => `hosts[${i}].${f}`;
  const fail = (f: string, what: string, example = HOSTS_EXAMPLE) => c.report(at(f), what, example);
  const name = typeof h.name === "string" ? h.name : "";
  const node = nodes.find((n) => n.name === name);
  if (!NODE_NAME.test(name))
    fail(
      "name",
      `${JSON.stringify(h.name ?? "")} must be a lowercase host name (a-z, 0-9, -; at most 31 characters)`,
      "name: node1",
    );
  else if (!node)
    fail("name", `"${name}" is not one of the nodes (${nodes.map((n) => n.name).join(", ")})`);
  const address = typeof h.address === "string" ? h.address : "";
  if (!address) fail("address", "is required");
  else if (hostAddressProblem(address))
    fail("address", hostAddressProblem(address)!, "address: 192.0.2.11");
  const privateAddress = h.privateAddress === undefined ? address : String(h.privateAddress);
  const privateBad = ipAddressProblem(privateAddress);
  if (address && privateBad) {
    fail(
      "privateAddress",
      `${privateBad}; the cluster network address must be an IP address${h.privateAddress === undefined ? " (it defaults to address)" : ""}`,
      "privateAddress: 10.0.0.11",
    );
  }
  const port = h.port === undefined ? DEFAULTS.host.port : Number(h.port);
  const portBad = h.port === undefined ? undefined : portProblem(h.port);
  if (portBad) fail("port", portBad, "port: 22");
  const user = h.user === undefined ? DEFAULTS.host.user : h.user;
  const userBad = userNameProblem(user);
  if (userBad) fail("user", userBad, "user: centos");
  const hostKey = typeof h.hostKey === "string" ? h.hostKey : "";
  if (!SSH_PUBLIC_KEY.test(hostKey.trim())) {
    fail(
      "hostKey",
      `the host's SSH public key is required so that Arrowhead can verify it (get it with: ssh-keyscan -t ed25519 ${address || "<address>"}, and check its fingerprint on the host)`,
    );
  }
  return {
    name,
    address,
    privateAddress,
    port: portBad ? DEFAULTS.host.port : port,
    user: String(user),
    hostKey,
    dataDisks: readDataDisks(h.dataDisks, node, (what) =>
      fail("dataDisks", what, "dataDisks: [/dev/sdb]"),
    ),
  };
}

/** A host's SDS devices: device paths; at least one on an SDS node. */
function readDataDisks(
  raw: unknown,
  node: NodeSpec | undefined,
  fail: (what: string) => void,
): string[] {
  if (raw !== undefined && !Array.isArray(raw)) {
    fail(`${JSON.stringify(raw)} must be a list of device paths`);
    return [];
  }
  const disks = (raw ?? []) as unknown[];
  if (node?.roles.includes("sds") && disks.length === 0)
    fail(`SDS node "${node.name}" needs at least one raw device`);
  const bad = disks.map(devicePathProblem).filter((p) => p !== undefined);
  if (bad.length > 0) fail(bad.join("; "));
  return bad.length > 0 ? [] : (disks as string[]);
}
