// The seam between the stages and the hosts: what a stage may do on a host (run a command as
// root, stage files, read a file), the journal of what a run changed, and the facts a run found.
// ssh-runner.ts implements HostRunner over SSH; unit tests use a scripted fake
// (test/unit/support/scripted-hosts.ts), so stages run without root or hosts.
import type { ExecResult } from "./ssh";
import type { StageFile } from "./upload";

export type { ExecResult } from "./ssh";

export interface CommandOptions {
  /** Reject on a non-zero exit (default true). */
  check?: boolean;
  /** Secret variable names (SECRET_VARS) the command reads from stdin; never in argv. */
  secrets?: string[];
  timeoutMs?: number;
  /** Log neither the command nor its stdout; for queries and polling. */
  quiet?: boolean;
  /** Called once the host is ready, just before the command is sent. */
  sending?: () => void;
}

/** Commands and files on the hosts of one run, as root. */
export interface HostRunner {
  run(host: string, step: string, command: string, o?: CommandOptions): Promise<ExecResult>;
  /** Stage files for root (upload.ts); returns how many had to be sent. */
  upload(host: string, step: string, files: StageFile[]): Promise<number>;
  /** A file's content as root, or undefined when it cannot be read. */
  readFile(host: string, step: string, path: string): Promise<string | undefined>;
  /** Ends every connection and releases what the run holds. */
  close(): void;
}

export interface Change {
  host: string;
  step: string;
  command: string;
}

/** What a run did to the hosts: every command sent, and the ones that changed something. */
export class Journal {
  readonly changes: Change[] = [];
  /** Remote commands run so far (a no-op re-run is judged by how few it needs). */
  commands = 0;

  constructor(private readonly redact: (s: string) => string) {}

  /** Record a change to `host` (a command, an upload, an API call), redacted. */
  record(host: string, step: string, command: string): void {
    this.changes.push({ host, step, command: this.redact(command) });
  }
}

/** What read-only checks found this run, valid while nothing has changed since. */
export class FactCache {
  private readonly memos = new Map<string, Promise<unknown>>();
  private readonly facts = new Map<string, { changes: number; value: unknown }>();

  constructor(private readonly journal: Journal) {}

  /** How many changes this run has made: a fact is as fresh as the count it was read at. */
  get version(): number {
    return this.journal.changes.length;
  }

  /**
   * Keep what a read-only check found. `recall` gives it back only while this run has changed
   * nothing since (any state-changing command anywhere may have changed the answer).
   */
  remember<T>(key: string, value: T, asOfChanges = this.version): T {
    this.facts.set(key, { changes: asOfChanges, value });
    return value;
  }

  recall<T>(key: string): T | undefined {
    const f = this.facts.get(key);
    return f && f.changes === this.version ? (f.value as T) : undefined;
  }

  /** `make()` once per run and key (a failure is not kept: the next call tries again). */
  memo<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.memos.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.memos.set(key, p);
      p.catch(() => this.memos.delete(key));
    }
    return p;
  }
}
