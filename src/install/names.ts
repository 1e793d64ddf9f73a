// The naming and password rules the stack config and the installer share: ScaleIO object names
// (system, protection domain, pool, SDS, volume) and the passwords Arrowhead sets. config.ts
// checks user values against them before any machine exists; the installer derives the names it
// gives from them. Nothing here knows about Pulumi or SSH.
import { createHash } from "crypto";

/**
 * Longest ScaleIO object name (MDM, SDS, SDC, system, protection domain, pool, volume): 31
 * characters. Source: ../shared/dvol-reference.md (the gateway's error 226, "The given name
 * exceeds the allowed length of 31 characters").
 */
export const OBJECT_NAME_MAX = 31;

/**
 * The names Arrowhead gives and accepts: 1-31 letters, digits, `_` and `-`, the first a letter or
 * digit. Sources: the 31-character limit is the vendor's (OBJECT_NAME_MAX); the reference
 * (../shared/scaleio-reference.md §4) shows every name as the word after an scli flag
 * (`--new_name <cluster>`, `--protection_domain_name pd1`, `--storage_pool_name sp1`), so a name
 * that starts with `-` is read by scli as another flag (issue 17: `clusterName: --i_am_sure`
 * reached `scli --rename_system --new_name --i_am_sure`); a leading `_` is refused with it, so
 * every name starts the way the vendor's own do (`pd1`, `sp1`, `SDS_[10.0.0.11]`). The vendor's
 * names allow more characters (`[`, `]`, `.`); this set is a safe subset of them.
 */
export const OBJECT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$/;
export const OBJECT_NAME_RULE =
  "letters, digits, - and _, 1-31 characters, the first a letter or digit";

/**
 * A valid ScaleIO object name for `s`, deterministic and collision-free: `s` itself when it is
 * already valid; otherwise its readable part (other characters turned into `_`, without leading
 * or trailing `-`/`_`, cut to 22) plus `-` and 8 hex digits of SHA-256(`s`). Two different inputs
 * that need shortening or cleaning therefore differ in the hash (2^-32 chance of a clash), and a
 * cleaned name never equals a valid input, which is kept as is. Throws for an input with no
 * letter or digit.
 */
export function objectName(s: string): string {
  if (OBJECT_NAME.test(s)) return s;
  const clean = s.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[-_]+/, "");
  if (!/[A-Za-z0-9]/.test(clean))
    throw new Error(`cannot derive a ScaleIO object name from "${s}" (it has no letter or digit)`);
  const hash = createHash("sha256").update(s).digest("hex").slice(0, 8);
  const prefix = clean.slice(0, OBJECT_NAME_MAX - hash.length - 1).replace(/[-_]+$/, "");
  return `${prefix}-${hash}`;
}

/**
 * The MDM's rules for a user password, as `scli --set_password` enforces them: 6-31 characters,
 * no spaces, and at least three of the four classes lower-case letter, upper-case letter, digit,
 * special character. Source: issue 11's report of the MDM refusing a password with a space
 * ("6-31 characters, no spaces, 3 of 4 character classes"); ../shared/scaleio-reference.md has
 * no password rule, and no public vendor page with the rule was found, so the vendor's own
 * refusal is also shown when it differs. The gateway admin password (`GATEWAY_ADMIN_PASSWORD`,
 * reference §3) has no published rule either: Arrowhead holds it to the same one.
 */
export const MDM_PASSWORD_RULE =
  "6-31 characters, no spaces, and at least 3 of: a lower-case letter, an upper-case letter, a digit, a special character";
/** The rule Arrowhead applies to gatewayPassword: the MDM's (see MDM_PASSWORD_RULE). */
export const GATEWAY_PASSWORD_RULE = MDM_PASSWORD_RULE;

/** Why `pw` breaks the MDM password rule (never quoting it), or undefined when it is fine. */
export function mdmPasswordProblem(pw: string): string | undefined {
  const why: string[] = [];
  const n = [...pw].length;
  if (n < 6 || n > 31) why.push(`it has ${n} characters`);
  if (/\s/.test(pw)) why.push("it contains a space");
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9\s]/].filter((re) => re.test(pw)).length;
  if (classes < 3) why.push(`it has ${classes} of the 4 character classes`);
  return why.length > 0 ? why.join(", ") : undefined;
}

/** Why `pw` breaks the gateway password rule (never quoting it), or undefined when it is fine. */
export const gatewayPasswordProblem = mdmPasswordProblem;
