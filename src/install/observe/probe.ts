// What every read-only probe shares: its result (the drift, outputs read now), its signature,
// and how a failure becomes a drift line naming the node. Kept apart from index.ts (which runs
// a probe in a read-only context) so the registry can import the probes without a cycle.
import type { StageContext } from "../context";

/** What a probe found. */
export interface Observed {
  /** What differs from what the resource's stage would make, one line each: "<node>: <what>". */
  drift: string[];
  /** Outputs read now (the cluster's mode and state), replacing the stored ones. */
  outputs?: { clusterMode?: string; clusterState?: string };
}

/** What the last `up` stored that a probe compares with (the resource's outputs). */
export interface Stored {
  clusterMode?: string;
  clusterState?: string;
}

/**
 * A resource kind's read-only probe: `host` is the resource's node (the master when
 * cluster-wide), `stored` its outputs from the last `up`.
 */
export type Probe = (ctx: StageContext, host: string, stored: Stored) => Promise<Observed>;

/** The step name a probe's commands and log lines carry. */
export const STEP = "refresh";

/** How long a refresh waits for a host's SSH (the install waits 10 min: machines may boot). */
export const OBSERVE_CONNECT_MS = 20_000;

/** Longest a probe may take (ms): then its sessions are ended and its host reported as not answering. */
export const OBSERVE_TIMEOUT_MS = 180_000;

/**
 * One failure as a drift line naming the node: an SSH connection that could not be made is
 * "not answering"; anything else is "could not be checked" with the (redacted) reason. `host`
 * is used when the message names no node.
 */
export function failureDrift(host: string, e: unknown, redact: (s: string) => string): string {
  const msg = redact(e instanceof Error ? e.message : String(e));
  const named = /^\[([^\]]+)\]\s*/.exec(msg);
  const node = named?.[1] ?? host;
  const rest = named ? msg.slice(named[0].length) : msg;
  if (/could not connect over SSH/i.test(rest)) {
    const last = /last error: ([^)]*)\)/.exec(rest)?.[1];
    return `${node}: not answering over SSH${last ? ` (${last})` : ""}`;
  }
  if (/timed out after|aborted/i.test(rest) && !/scli/.test(rest))
    return `${node}: not answering (${rest.split("\n")[0]})`;
  return `${node}: could not be checked: ${rest.split("\n")[0]}`;
}
