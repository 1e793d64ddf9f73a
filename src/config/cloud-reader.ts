// What each cloud's config reader (src/providers/<cloud>-config.ts) works with: its section of
// the stack config and the checks every section uses, each adding a problem that names the key.
import { key, type Collector } from "./collector";
import { identifierProblem, isCidr, wholeNumber } from "./values";
import type { CloudName } from "./types";

export class CloudReader {
  constructor(
    readonly cloud: CloudName,
    readonly c: Collector,
  ) {}

  /** The cloud's object section (`arrowhead:<k>`), {} when absent or not an object. */
  section<T>(k: string): Partial<T> {
    return this.c.section<T>(k);
  }

  /** A required value: present and not empty. */
  need(k: string, v: unknown, example: string): void {
    if (v === undefined || v === "")
      this.c.add(`${key(k)}: is required for cloud ${this.cloud}. Example: ${example}`);
  }

  /** An optional cloud identifier (region, zone, size...), or the default when absent. */
  ident(k: string, v: unknown, dflt: string, example: string): string {
    if (v === undefined || v === "") return dflt;
    const bad = identifierProblem(v);
    if (bad) this.c.report(k, bad, example);
    return String(v);
  }

  /** An optional cloud identifier with no default: undefined when absent. */
  optionalIdent(k: string, v: unknown, example: string): string | undefined {
    return v === undefined ? undefined : this.ident(k, v, "", example);
  }

  /** An IPv4 CIDR, default `dflt`. */
  cidr(k: string, v: unknown, dflt: string): string {
    const s = v === undefined ? dflt : v;
    if (typeof s !== "string" || !isCidr(s))
      this.c.add(`${key(k)}: ${JSON.stringify(s)} is not an IPv4 CIDR. Example: 10.20.0.0/24`);
    return String(s);
  }

  /** A whole number from min to max, default `dflt`. */
  whole(k: string, v: unknown, dflt: number, min: number, max: number, example: string): number {
    const r = wholeNumber(v ?? dflt, min, max);
    if ("value" in r) return r.value;
    this.c.add(
      `${key(k)}: ${JSON.stringify(v)} must be a whole number from ${min} to ${max}. Example: ${example}`,
    );
    return dflt;
  }

  /** An optional file path, made absolute from the project directory. */
  path(k: string, v: unknown, example: string): string | undefined {
    return v === undefined || v === "" ? undefined : this.c.path(v, k, example);
  }
}
