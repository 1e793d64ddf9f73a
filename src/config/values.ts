// What a config value of each kind must look like (addresses, ports, URLs, device paths, sizes,
// cloud identifiers). Each check returns what is wrong with a value, in words for the user, or
// undefined when it is fine; the key family readers of src/config/ add the key and an example.
// Values that reach a shell, a URL, a file or a command are held to these before any resource
// exists (issue 17).
import { isIPv4, isIPv6 } from "node:net";

/** Shell metacharacters, quotes, whitespace and control characters, for the messages. */
const UNSAFE = /[\s\p{Cc}'"`$\\;&|<>(){}*?!#^]/u;

/** Names the first character of `v` a check refuses, readably (`" "`, `\n`, `$`). */
function shown(ch: string): string {
  const named: Record<string, string> = { "\n": "a newline", "\r": "a carriage return" };
  if (named[ch]) return named[ch];
  if (/\s/.test(ch)) return "whitespace";
  if (/\p{Cc}/u.test(ch)) return "a control character";
  return `"${ch}"`;
}

/** What makes `v` unsafe to paste anywhere (quotes, shell metacharacters...), if anything. */
function unsafeChar(v: string): string | undefined {
  const m = UNSAFE.exec(v);
  return m ? `it contains ${shown(m[0])}` : undefined;
}

/** An IPv4 address in dotted-quad form, or an IPv6 address without a zone (`%eth0`). */
export function ipAddressProblem(v: string): string | undefined {
  if (isIPv4(v) || (isIPv6(v) && !v.includes("%"))) return undefined;
  return `"${v}" is not an IPv4 or IPv6 address`;
}

/** RFC 1123 host names: dot-separated labels of 1-63 letters, digits and inner `-`, 253 at most. */
export function hostnameProblem(v: string): string | undefined {
  const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const labels = v.split(".");
  if (v.length === 0 || v.length > 253 || !labels.every((l) => label.test(l)))
    return `"${v}" is neither an IP address nor a host name (RFC 1123: letters, digits, inner "-" and ".", at most 253 characters)`;
  if (labels.every((l) => /^\d+$/.test(l))) return `"${v}" is not a valid IPv4 address`;
  return undefined;
}

/** Where SSH may reach a host: an IP address or an RFC 1123 host name. */
export function hostAddressProblem(v: string): string | undefined {
  return ipAddressProblem(v) === undefined ? undefined : hostnameProblem(v);
}

/**
 * A whole number from `min` to `max`, given as a number or as digits (YAML may give either);
 * never NaN, a fraction, an exponent (`8e300`) or a sign. Returns the number or the problem.
 */
export function wholeNumber(
  raw: unknown,
  min: number,
  max: number,
): { value: number } | { problem: string } {
  const digits = typeof raw === "string" && /^\d{1,15}$/.test(raw);
  const n = typeof raw === "number" || digits ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n))
    return { problem: `${JSON.stringify(raw)} is not a whole number (digits only)` };
  if (n < min || n > max) return { problem: `${n} is out of range (${min} to ${max})` };
  return { value: n };
}

/** A TCP port: a whole number from 1 to 65535. */
export function portProblem(raw: unknown): string | undefined {
  const r = wholeNumber(raw, 1, 65535);
  return "problem" in r ? `${r.problem}: a port is a whole number from 1 to 65535` : undefined;
}

/**
 * An http(s) URL with a host and an optional port and path, and nothing a shell, sed or a repo
 * file would read differently: no user or password (`@`), query, fragment, quotes, whitespace
 * or shell metacharacters.
 */
export function httpUrlProblem(v: string): string | undefined {
  const bad = unsafeChar(v);
  if (bad) return `"${v}" is not a plain http(s) URL: ${bad}`;
  const m = /^https?:\/\/([^/:]+|\[[0-9A-Fa-f:.]+\])(:\d+)?(\/[A-Za-z0-9._~%+,=/-]*)?$/.exec(v);
  if (!m)
    return `"${v}" is not a plain http(s) URL (http:// or https://, a host, an optional port and path; no user, query or fragment)`;
  const host = m[1].replace(/^\[(.*)\]$/, "$1");
  const hostBad = m[1].startsWith("[") ? ipAddressProblem(host) : hostAddressProblem(host);
  if (hostBad) return `"${v}" has a bad host: ${hostBad}`;
  if (m[2] && portProblem(m[2].slice(1))) return `"${v}" has a bad port`;
  return undefined;
}

/**
 * A block device path: `/dev/` and then letters, digits and `._+:-` in `/`-separated parts
 * (`/dev/sdb`, `/dev/nvme1n1`, `/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0a1b`), no
 * `..`, at most 255 characters.
 */
export function devicePathProblem(v: unknown): string | undefined {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  const part = /^[A-Za-z0-9_+:][A-Za-z0-9._+:-]*$/;
  const parts = s.startsWith("/dev/") ? s.slice(5).split("/") : [];
  if (
    typeof v !== "string" ||
    s.length > 255 ||
    parts.length === 0 ||
    !parts.every((p) => part.test(p))
  )
    return `${JSON.stringify(s)} is not a device path (/dev/ followed by letters, digits and ._+:- in /-separated parts)`;
  return undefined;
}

/**
 * A cloud identifier (region, zone, machine size, project): letters, digits, `.`, `_`, `-`,
 * starting with a letter or digit, at most `max` characters.
 */
export function identifierProblem(v: unknown, max = 63): string | undefined {
  if (typeof v === "string" && new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${max - 1}}$`).test(v))
    return undefined;
  return `${JSON.stringify(v)} is not an identifier (letters, digits, ".", "_", "-", starting with a letter or digit, at most ${max} characters)`;
}

/**
 * A cloud image reference (AMI id, GCP image path, Azure URN, DigitalOcean slug): letters,
 * digits and `._:/@+-`, starting with a letter or digit, at most 255 characters.
 */
export function imageProblem(v: string): string | undefined {
  if (/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,254}$/.test(v)) return undefined;
  return `"${v}" is not an image reference (letters, digits and ._:/@+-, starting with a letter or digit)`;
}

/** A local file path: no control characters, no newline, at most 4096 characters. */
export function filePathProblem(v: unknown): string | undefined {
  if (typeof v !== "string" || v.length === 0) return `${JSON.stringify(v)} is not a path`;
  if (v.length > 4096) return `the path is ${v.length} characters long (at most 4096)`;
  if (/\p{Cc}/u.test(v)) return `${JSON.stringify(v)} contains a control character`;
  return undefined;
}

/** A login name on a Linux host: a letter or `_`, then letters, digits, `_`, `.`, `-`; 32 at most. */
export function userNameProblem(v: unknown): string | undefined {
  if (typeof v === "string" && /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(v)) return undefined;
  return `${JSON.stringify(v)} is not a user name (a letter or "_", then letters, digits, "_", ".", "-"; at most 32 characters)`;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** An IPv4 CIDR (`10.20.0.0/24`). */
export function isCidr(value: string): boolean {
  const m = CIDR.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && Number(m[5]) <= 32;
}

/** A CIDR whose prefix is 0 admits every IPv4 address (0.0.0.0/0 and its spellings). */
export function isWholeInternet(cidr: string): boolean {
  return isCidr(cidr) && Number(cidr.split("/")[1]) === 0;
}

/** A node or host name: a lowercase host name of at most 31 characters. */
export const NODE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** An OpenSSH public key line; its comment may not hold control characters, quotes, $, ` or \. */
export const SSH_PUBLIC_KEY =
  /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) ([A-Za-z0-9+/]{40,}={0,2})( [^\p{Cc}'"`$\\]*)?$/u;
