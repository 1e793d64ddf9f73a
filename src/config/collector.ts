// The collector: what every key family's reader works through. It reads raw stack config
// (RawConfig), gathers every problem (each naming the key, what is wrong and an example of a
// right value) and throws them together as one ConfigError at the end. The small readers that
// several families share (one of a list, true/false, a path) are here too.
import { RunError } from "@pulumi/pulumi/errors";
import { resolveProjectPath } from "../project-dir";
import { filePathProblem } from "./values";

export const CONFIG_NAMESPACE = "arrowhead";

/** `arrowhead:<k>`, as messages name a key. */
export const key = (k: string): string => `${CONFIG_NAMESPACE}:${k}`;

/**
 * What readSpec needs from Pulumi's config: plain values, secrets as "present or not". One
 * secret, mdmPassword, is also read with get() (Pulumi's get returns a secret's plain value) to
 * check it against the MDM's password rule; its value is never stored or printed.
 */
export interface RawConfig {
  get(key: string): string | undefined;
  getObject<T>(key: string): T | undefined;
  /** Whether a (secret) key is set; its value is never read here. */
  has(key: string): boolean;
}

/**
 * Every problem of a stack config at once. A RunError: Pulumi prints its message alone, without
 * a stack trace or "Unhandled exception", since it names the key and the fix itself.
 */
export class ConfigError extends RunError {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}

/** Raw config plus the problems found so far. */
export class Collector {
  readonly problems: string[] = [];

  constructor(readonly cfg: RawConfig) {}

  /** Adds one problem: the key, what is wrong and a right example. */
  report(k: string, what: string, example: string): void {
    this.problems.push(`${key(k)}: ${what}. Example: ${example}`);
  }

  /** Adds a problem written whole (it names its key and example itself). */
  add(problem: string): void {
    this.problems.push(problem);
  }

  /** The number of problems so far (to tell whether a reader added any). */
  get count(): number {
    return this.problems.length;
  }

  /** `value` when no problem was found (a value left undefined was reported); else throws ConfigError. */
  result<T>(value: T | undefined): T {
    if (this.problems.length > 0 || value === undefined) throw new ConfigError(this.problems);
    return value;
  }

  /** An object section (`arrowhead:aws`...), or {} when absent or not an object. */
  section<T>(k: string): Partial<T> {
    const v = this.cfg.getObject<unknown>(k);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Partial<T>) : {};
  }

  /** A key whose value is one of `allowed` (default `dflt`; none: required), with a did-you-mean. */
  oneOf<T extends string>(
    k: string,
    allowed: readonly T[],
    dflt: T | undefined,
    example: string,
  ): T | undefined {
    const v = this.cfg.get(k);
    if (v === undefined) {
      if (dflt === undefined) this.report(k, `is required (one of ${allowed.join(", ")})`, example);
      return dflt;
    }
    if ((allowed as readonly string[]).includes(v)) return v as T;
    const near = didYouMean(v, allowed);
    this.report(
      k,
      `"${v}" is not one of ${allowed.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}`,
      near ? `${key(k)}: ${near}` : example,
    );
    return undefined;
  }

  /** `true` or `false` (default `dflt`); anything else is refused with what the key does. */
  boolean(k: string, dflt: boolean, meaning: string): boolean {
    const v = this.cfg.get(k);
    if (v === undefined) return dflt;
    if (v === "true" || v === "false") return v === "true";
    this.report(k, `"${v}" must be true or false (${meaning})`, `${key(k)}: ${!dflt}`);
    return dflt;
  }

  /** A path from stack config made absolute (see resolveProjectPath), or undefined when refused. */
  path(raw: unknown, k: string, example: string): string | undefined {
    const bad = filePathProblem(raw);
    if (bad) {
      this.report(k, bad, example);
      return undefined;
    }
    return resolveProjectPath(raw as string);
  }
}

/** Edit distance (insertions, deletions, substitutions), for did-you-mean hints. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The allowed value a mistyped one most likely meant: the same ignoring case, else the closest
 * within 2 edits (one of several equally close: none). Undefined when nothing is close.
 */
export function didYouMean(value: string, allowed: readonly string[]): string | undefined {
  const v = value.trim().toLowerCase();
  const same = allowed.find((a) => a.toLowerCase() === v);
  if (same) return same;
  const scored = allowed.map((a) => ({ a, d: distance(v, a.toLowerCase()) }));
  const best = Math.min(...scored.map((x) => x.d));
  const near = scored.filter((x) => x.d === best);
  return best <= 2 && near.length === 1 ? near[0].a : undefined;
}
