// What a failed scli command means (from its text), the vendor's own words, and the error that
// carries both to the user.

/**
 * What a failed scli command means, from its text. scli uses exit status 7 for several of these
 * (already exists, not ready, wrong password), so the text decides.
 * - `no-cluster`: the MDM is not part of any system yet: 2.0 `The MDM cluster state is
 *   incorrect` (swisscom/puppet-scaleio lib/facter/scaleio_mdm_clustersetup_needed.rb takes it as
 *   "cluster setup needed"), 2.0.1+ `This MDM is not attached to a system` (issue 11; no public
 *   sample found), the older emulator's `has not been created`. Only then may a cluster be created.
 * - `certificate`: scli wants the MDM certificate approved (it would ask y/n).
 * - `unreachable`, `no-session`: transient (an MDM starting, a failover); worth retrying.
 * - everything else is the MDM's final word and is shown to the user at once.
 */
export type ScliFailure =
  | "no-cluster"
  | "certificate"
  | "unreachable"
  | "auth"
  | "exists"
  | "not-found"
  | "no-session"
  | "other";

/** The failures worth retrying: the same command can succeed a little later. */
export const TRANSIENT_FAILURES: readonly ScliFailure[] = ["unreachable", "no-session"];

export function classifyFailure(out: string): ScliFailure {
  const tests: [ScliFailure, RegExp][] = [
    [
      "no-cluster",
      /not attached to a system|cluster state is incorrect|has not been created|cluster (is )?not (yet )?created/i,
    ],
    [
      "certificate",
      /approve this certificate|Press 'y'|\(y\/n\)|\[y\/n\]|certificate .*(not trusted|untrusted)/i,
    ],
    ["exists", /already (exists|in use|mapped|added|a member)|name .* is already in use/i],
    [
      "no-session",
      /not logged in|log ?in first|login (is )?required|session (has )?(expired|ended|timed out|is not valid)/i,
    ],
    [
      "auth",
      /(invalid|wrong|incorrect).*(user ?name|password|credentials)|authenticat|permission denied/i,
    ],
    ["not-found", /could not find|not found|does not exist|unknown (volume|sdc|sds)/i],
    [
      "unreachable",
      /fail(ed)? to connect|connection refused|could not connect|not (yet )?(answering|responding)|unreachable|timed? ?out|no mdm answers|not ready|not the master/i,
    ],
  ];
  for (const [kind, re] of tests) if (re.test(out)) return kind;
  return "other";
}

/** The vendor's own words from scli output: its `Error:`/`Status:` lines, else its last lines. */
export function vendorMessage(out: string): string {
  const lines = out
    .replace(/\r/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^(Error|Warning)\b|Status:/i.test(l));
  return (errors.length > 0 ? errors : lines.slice(-3)).join(" / ");
}

/** How long one scli command may take before it is stopped (it never waits on input). */
export const SCLI_TIMEOUT_MS = 300_000;

/**
 * scli refused or failed: names host, step and command, and carries the vendor's own message
 * and what the failure means (`failure`), so that callers retry only transient failures.
 */
export class ScliError extends Error {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly command: string,
    readonly failure: ScliFailure,
    readonly vendor: string,
    readonly exitCode: number | undefined,
    fix?: string,
  ) {
    super(
      `[${host}] ${step}: ${command} failed${exitCode === undefined ? "" : ` (exit ${exitCode})`}: ` +
        `${vendor}${fix ? `. ${fix}` : ""}`,
    );
    this.name = "ScliError";
  }

  /** Whether the same command may succeed if tried again a little later. */
  get transient(): boolean {
    return TRANSIENT_FAILURES.includes(this.failure);
  }
}
