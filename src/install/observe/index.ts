// `pulumi refresh`: what each install resource finds on the hosts now, against what its stage
// would make. A probe per resource kind (registry.ts `observe`) asks read-only questions only
// (scli queries after a login, rpm -q, systemctl show, findmnt, sha256sum) in a read-only run
// (context.ts `readOnly`: no host lock, a change refused before it is sent) and returns the
// drift, one line per difference naming the node: exactly what the stage would change on the
// next `pulumi up`. A host that does not answer, or a probe that fails, is drift too ("node3:
// not answering over SSH ..."): a refresh never fails because of the hosts.
import { InstallContext, type StageContext } from "../context";
import type { HostRunner } from "../host-runner";
import { Redactor, type LogSink } from "../log";
import type { RpmSet } from "../rpms";
import { rpmsFor } from "../runner";
import { secretsOf, type InstallSpec } from "../spec";

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

/**
 * Run `fn` for each host at once; a host whose check fails gives its failure as drift instead
 * of hiding the other hosts' drift. Returns every host's drift, in `hosts` order.
 */
export async function perHost(
  ctx: Pick<StageContext, "redactor">,
  hosts: string[],
  fn: (h: string) => Promise<string[]>,
): Promise<string[]> {
  const r = await Promise.allSettled(hosts.map(fn));
  return r.flatMap((x, i) =>
    x.status === "fulfilled"
      ? x.value
      : [failureDrift(hosts[i], x.reason, (s) => ctx.redactor.redact(s))],
  );
}

export interface ObserveOptions {
  log: LogSink;
  /** The engine's signal (the provider process's): the probe ends with it. */
  signal?: AbortSignal;
  /** The hosts (tests: a scripted runner); SSH by default. */
  hosts?: HostRunner;
  /** The package set (tests); read from the spec's rpmDir by default. */
  rpms?: RpmSet;
  timeoutMs?: number;
}

/**
 * Probe one resource's share of the hosts in a read-only run. Never throws for what the hosts
 * do: an unreachable host, a refused login or a probe that fails come back as drift, so a
 * `pulumi refresh` always finishes and says what it found. Secrets never reach the drift (every
 * line passes the run's redactor).
 */
export async function observeWith(
  spec: InstallSpec,
  probe: Probe,
  host: string,
  stored: Stored,
  o: ObserveOptions,
): Promise<Observed> {
  const timeout = new AbortController();
  const timer = setTimeout(
    () =>
      timeout.abort(new Error(`timed out after ${(o.timeoutMs ?? OBSERVE_TIMEOUT_MS) / 1000} s`)),
    o.timeoutMs ?? OBSERVE_TIMEOUT_MS,
  );
  const signal = o.signal ? AbortSignal.any([o.signal, timeout.signal]) : timeout.signal;
  const connectTimeoutMs = Math.min(
    spec.connectTimeoutMs ?? OBSERVE_CONNECT_MS,
    OBSERVE_CONNECT_MS,
  );
  const redactor = new Redactor(secretsOf(spec));
  let ctx: InstallContext | undefined;
  try {
    ctx = new InstallContext(
      { ...spec, connectTimeoutMs },
      o.rpms ?? rpmsFor(spec),
      { log: o.log, signal, readOnly: true },
      o.hosts,
    );
    const found = await probe(ctx, host, stored);
    return { ...found, drift: found.drift.map((d) => redactor.redact(d)) };
  } catch (e) {
    // The engine going away is not drift: the refresh is over.
    if (o.signal?.aborted) throw e;
    return { drift: [failureDrift(host, e, (s) => redactor.redact(s))] };
  } finally {
    clearTimeout(timer);
    ctx?.close();
  }
}
