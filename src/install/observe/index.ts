// `pulumi refresh`: what each install resource finds on the hosts now, against what its stage
// would make. A probe per resource kind (registry.ts `observe`) asks read-only questions only
// (scli queries after a login, rpm -q, systemctl show, findmnt, sha256sum) in a read-only run
// (context.ts `readOnly`: no host lock, a change refused before it is sent) and returns the
// drift, one line per difference naming the node: exactly what the stage would change on the
// next `pulumi up`. A host that does not answer, or a probe that fails, is drift too ("node3:
// not answering over SSH ..."): a refresh never fails because of the hosts.
import { InstallContext } from "../context";
import type { HostRunner } from "../host-runner";
import { Redactor, type LogSink } from "../log";
import type { RpmSet } from "../rpms";
import { rpmsFor } from "../runner";
import { secretsOf, type InstallSpec } from "../spec";
import {
  failureDrift,
  OBSERVE_CONNECT_MS,
  OBSERVE_TIMEOUT_MS,
  type Observed,
  type Probe,
  type Stored,
} from "./probe";

export * from "./probe";

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

/** The spec's package set, or an error saying a refresh needs it. */
function readRpms(spec: InstallSpec): RpmSet {
  try {
    return rpmsFor(spec);
  } catch (e) {
    throw new Error(
      `pulumi refresh compares the hosts with the ScaleIO packages the stack installs, and cannot read them: ` +
        `${(e as Error).message} (run the refresh where the stack's rpmDir holds them, as for pulumi up)`,
    );
  }
}

/**
 * Probe one resource's share of the hosts in a read-only run. Never throws for what the hosts
 * do: an unreachable host, a refused login or a probe that fails come back as drift, so a
 * `pulumi refresh` always finishes and says what it found. Secrets never reach the drift (every
 * line passes the run's redactor). Throws when this machine cannot read the stack's RPM folder
 * (rpmDir), and the engine's abort.
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
  // The package set names what the hosts should have: without it nothing can be compared, and
  // that is this machine's problem, not drift on the hosts (every resource would show some).
  const rpms = o.rpms ?? readRpms(spec);
  let ctx: InstallContext | undefined;
  try {
    ctx = new InstallContext(
      { ...spec, connectTimeoutMs },
      rpms,
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
