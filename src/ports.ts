// The network ports of a ScaleIO + Docker cluster (scaleio-reference.md §7), one table for
// every cloud's firewall.

export interface PortRule {
  port: number;
  protocol: "tcp";
  what: string;
}

/** Opened only between the cluster's own machines (the private network). */
export const CLUSTER_PORTS: readonly PortRule[] = [
  { port: 9011, protocol: "tcp", what: "MDM (all MDMs and tie-breakers)" },
  { port: 6611, protocol: "tcp", what: "MDM master (cluster, after create)" },
  { port: 7072, protocol: "tcp", what: "SDS data" },
  { port: 9099, protocol: "tcp", what: "LIA" },
  { port: 443, protocol: "tcp", what: "REST gateway (HTTPS)" },
];

/** Opened to the user's allowed CIDR only. */
export const PUBLIC_PORTS: readonly PortRule[] = [
  { port: 22, protocol: "tcp", what: "SSH (installer and users)" },
  { port: 443, protocol: "tcp", what: "REST gateway (HTTPS)" },
];
