// Staging files on a host for root to install (RPMs, the volume plugin's binary). Everything
// staged lives under STAGING_ROOT, a folder only root can write into, and so is every folder
// above it; that is checked as root before anything is staged or installed, and each staged
// file is hashed as root right before it is installed and compared with the local file's
// sha256. No stamp or cache on the host is trusted: the hash is always taken from the file.
//
// An upload goes by SFTP (which runs as the login user) into a fresh folder that only the login
// user can write (mode 0700, random name, created by SFTP's mkdir, which fails when the name
// exists), then root checks that folder and the file's size and moves the file into the staging
// folder, owned by root, mode 0600. Root logins and sudo users take the same path.
import { createHash, randomBytes } from "crypto";
import { createReadStream } from "fs";
import { stat } from "fs/promises";
import * as path from "path";
import type { StageContext } from "./context";
import type { StepLog } from "./log";
import { q, sectioned, splitSections } from "./shell";
import { RemoteCommandError, type ExecResult, type SshSession } from "./ssh";

/** Arrowhead's own folder on a host: root-owned, 0700. */
export const ARROWHEAD_HOST_DIR = "/var/lib/arrowhead";
/** Where uploads wait to be installed: root-owned, 0700, every folder above it root-only writable. */
export const STAGING_ROOT = `${ARROWHEAD_HOST_DIR}/staging`;
/** Where SFTP puts an upload before root moves it (a fresh 0700 folder per upload batch). */
export const UPLOAD_TMP_PARENT = "/var/tmp";
const UPLOAD_TMP_PREFIX = "arrowhead-upload.";

/** Exit statuses of the scripts below (distinct from yum's, rpm's and the secret reader's 90). */
export const EXIT_UNSAFE = 91;
export const EXIT_HASH_MISMATCH = 92;
export const EXIT_BAD_UPLOAD = 93;

/** A path segment we stage under: starts with a letter or digit; letters, digits, . _ + - only. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,199}$/;

/** A file to stage: the local file and its name under STAGING_ROOT ("rpms/x.rpm", "bin/x"). */
export interface StageFile {
  local: string;
  name: string;
}

/** The staging folder (or a check on it) is not safe: names the host, the path and the fix. */
export class StagingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StagingError";
  }
}

/**
 * The absolute path on the host of `name` under STAGING_ROOT. `name` is one or two segments
 * ("rpms/EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm"); each must match SEGMENT, so no `..`, no
 * hidden files, nothing a shell would expand. Throws for anything else.
 */
export function stagedPath(name: string): string {
  const parts = name.split("/");
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => SEGMENT.test(p)))
    throw new Error(
      `cannot stage "${name}": use one or two path segments of letters, digits, . _ + - ` +
        `(each starting with a letter or digit), e.g. rpms/EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm`,
    );
  return `${STAGING_ROOT}/${name}`;
}

/** Throws unless `p` is an absolute, normalised path of plain segments (what the scripts accept). */
function assertPlainAbsolute(p: string): void {
  const parts = p.split("/").slice(1);
  if (!p.startsWith("/") || !parts.every((s) => SEGMENT.test(s) || s === ""))
    throw new Error(`not a plain absolute path: "${p}"`);
  if (p !== "/" && parts.some((s) => s === "")) throw new Error(`not a normalised path: "${p}"`);
}

/**
 * Shell (run as root) that walks from `p` up to `/` and exits EXIT_UNSAFE, saying why on
 * stderr, when any component is a symbolic link, is not owned by root (uid 0), or can be
 * written by its group or by others (mode bits; an ACL granting write shows in the group bits).
 * Missing components fail too. Pure.
 */
export function trustedPathScript(p: string): string {
  assertPlainAbsolute(p);
  const fail = (why: string) => `{ echo "unsafe: ${why}" >&2; exit ${EXIT_UNSAFE}; }`;
  return (
    `( p=${q(p)}; while :; do ` +
    `if [ -L "$p" ]; then ${fail("$p is a symbolic link")}; fi; ` +
    `o=$(stat -c %u -- "$p" 2>/dev/null) && a=$(stat -c %A -- "$p") || ${fail("$p does not exist")}; ` +
    `[ "$o" = 0 ] || ${fail("$p is owned by uid $o, not root")}; ` +
    `case "$a" in ?????w*|????????w*) ${fail("$p is writable by its group or others ($a)")};; esac; ` +
    `[ "$p" = / ] && break; p=$(dirname -- "$p"); done )`
  );
}

/**
 * Shell (run as root) that makes `dirs` (folders under `base`, default ARROWHEAD_HOST_DIR, with
 * `root`, default STAGING_ROOT, parents first) exist as root-owned 0700 folders: the folder
 * above `base` is checked first, missing
 * folders are created 0700, then the whole chain up to `/` is checked (a folder someone else
 * made or opened up is refused with EXIT_UNSAFE, never adopted) and our folders are set to 0700.
 * Pure.
 */
export function ensureStagingScript(
  dirs: string[],
  base = ARROWHEAD_HOST_DIR,
  root = STAGING_ROOT,
): string {
  const ours = [base, root, ...dirs];
  for (const d of ours) {
    assertPlainAbsolute(d);
    if (d !== base && !d.startsWith(`${base}/`)) throw new Error(`${d} is not under ${base}`);
  }
  const unique = [...new Set(ours)];
  const make = unique.map((d) => `{ [ -e ${q(d)} ] || [ -L ${q(d)} ] || mkdir -m 0700 ${q(d)}; }`);
  // Each check walks up to `/`, so the deepest folders cover the others.
  const leaves = unique.filter((d) => !unique.some((e) => e.startsWith(`${d}/`)));
  const check = leaves.map((d) => trustedPathScript(d));
  return [
    trustedPathScript(path.posix.dirname(base)),
    ...make,
    ...check,
    `chmod 0700 ${unique.map(q).join(" ")}`,
  ].join(" && ");
}

/**
 * Shell (run as root) printing the sha256 of the staged `file` when it and every folder above it
 * pass trustedPathScript, and nothing otherwise (absent or not trusted: it will be replaced). Pure.
 */
export function stagedSha256Script(file: string): string {
  return `if ${trustedPathScript(file)} 2>/dev/null; then sha256sum -- ${q(file)} | cut -c1-64; fi`;
}

/**
 * Shell (run as root) that takes an SFTP upload from the login user's temporary folder `tmpDir`
 * into the staging folder: `tmpDir` must be a real folder of mode 0700 (only its owner could
 * write there), the upload a regular file of exactly `size` bytes; the destination's folders must
 * pass trustedPathScript. The file is moved next to `dest`, given to root with mode 0600, then
 * renamed onto `dest`. Exits EXIT_BAD_UPLOAD (with the reason) or EXIT_UNSAFE. Pure.
 */
export function adoptUploadScript(tmpDir: string, dest: string, size: number): string {
  assertPlainAbsolute(tmpDir);
  assertPlainAbsolute(dest);
  if (!Number.isSafeInteger(size) || size < 0) throw new Error(`bad size ${size}`);
  const src = `${tmpDir}/${path.posix.basename(dest)}`;
  const part = `${dest}.part`;
  const bad = (why: string) => `{ echo "upload: ${why}" >&2; exit ${EXIT_BAD_UPLOAD}; }`;
  return [
    `{ [ -d ${q(tmpDir)} ] && [ ! -L ${q(tmpDir)} ] && [ "$(stat -c %a -- ${q(tmpDir)})" = 700 ]; } || ${bad(`${tmpDir} is not a private folder`)}`,
    `{ [ -f ${q(src)} ] && [ ! -L ${q(src)} ]; } || ${bad(`${src} is not a regular file`)}`,
    `s=$(stat -c %s -- ${q(src)}) && { [ "$s" = ${size} ] || ${bad(`${src} has $s bytes, not ${size}: the transfer was cut short`)}; }`,
    trustedPathScript(path.posix.dirname(dest)),
    `mv -f -- ${q(src)} ${q(part)}`,
    `chown root:root ${q(part)}`,
    `chmod 0600 ${q(part)}`,
    `mv -f -- ${q(part)} ${q(dest)}`,
  ].join(" && ");
}

/**
 * Shell (run as root) that runs `command` only after the staged `file` passed trustedPathScript
 * and its sha256, taken now, equals `sha256`; a different hash exits EXIT_HASH_MISMATCH. Nothing
 * but root can change the file between the check and `command` (its folders are root-only). Pure.
 */
export function verifiedScript(file: string, sha256: string, command: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: "${sha256}"`);
  return (
    `${trustedPathScript(file)} && h=$(sha256sum -- ${q(file)} | cut -c1-64) && ` +
    `{ [ "$h" = ${sha256} ] || { echo "staged file ${file} has sha256 $h, not ${sha256}" >&2; exit ${EXIT_HASH_MISMATCH}; }; } && ` +
    command
  );
}

/** A fresh name for the login user's temporary upload folder (random, never reused). */
export function uploadTmpDir(random: Buffer = randomBytes(12)): string {
  return `${UPLOAD_TMP_PARENT}/${UPLOAD_TMP_PREFIX}${random.toString("hex")}`;
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(file)
      .on("error", reject)
      .on("data", (d) => h.update(d))
      .on("end", () => resolve(h.digest("hex")));
  });
}

/** Local hashes by path, size and mtime: a file sent to N hosts is read and hashed once. */
const localHashes = new Map<string, Promise<string>>();

/** The local file's sha256 (hex), cached per path, size and mtime. Rejects when unreadable. */
export async function localSha256(file: string): Promise<string> {
  const st = await stat(file);
  const key = `${file}\0${st.size}\0${st.mtimeMs}`;
  let h = localHashes.get(key);
  if (!h) {
    h = sha256File(file);
    localHashes.set(key, h);
    h.catch(() => localHashes.delete(key));
  }
  return h;
}

/** The message for a staging script's failure (unsafe path, hash mismatch, bad upload). */
export function stagingFailure(host: string, step: string, r: ExecResult): string | undefined {
  const why = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-3).join("; ");
  if (r.code === EXIT_UNSAFE)
    return (
      `[${host}] ${step}: refused to stage or install: ${why}. Only root may be able to write to ` +
      `${STAGING_ROOT} and every folder above it. Nothing was installed from it. Find out who made ` +
      `that path so (it may be an attack), remove or fix it (e.g. rm -rf ${ARROWHEAD_HOST_DIR}), then re-run.`
    );
  if (r.code === EXIT_HASH_MISMATCH)
    return (
      `[${host}] ${step}: refused to install: ${why}. Only root can write there, so something running ` +
      `as root changed it; it was removed. Re-run to send it again.`
    );
  if (r.code === EXIT_BAD_UPLOAD)
    return `[${host}] ${step}: upload failed: ${why}. Re-run to send it again.`;
  return undefined;
}

/** The sha256 each staged file has now as root ("" when absent or not trusted), one round trip. */
async function stagedHashes(session: SshSession, files: string[], log: StepLog): Promise<string[]> {
  const dirs = [...new Set(files.map((f) => path.posix.dirname(f)))];
  const queries: Record<string, string> = { ensure: ensureStagingScript(dirs) };
  files.forEach((f, i) => (queries[String(i)] = stagedSha256Script(f)));
  const answers = splitSections(
    (await session.exec(sectioned(queries), { log, quiet: true })).stdout,
  );
  const ensure = answers.ensure;
  if (!ensure || ensure.code !== 0) {
    const r = { code: ensure?.code ?? -1, stdout: "", stderr: ensure?.out ?? "no answer" };
    throw new StagingError(
      stagingFailure(session.name, log.step, r) ??
        `[${session.name}] ${log.step}: could not create ${STAGING_ROOT}: ${r.stderr}`,
    );
  }
  return files.map((_, i) => /^[0-9a-f]{64}$/m.exec(answers[String(i)]?.out ?? "")?.[0] ?? "");
}

/** Run a staging script as root; a non-zero exit becomes a StagingError or RemoteCommandError. */
async function mustRun(session: SshSession, script: string, what: string, log: StepLog) {
  const r = await session.exec(script, { log, quiet: true, check: false });
  if (r.code === 0) return;
  const known = stagingFailure(session.name, log.step, r);
  if (known) throw new StagingError(known);
  throw new RemoteCommandError(session.name, log.step, what, r, (s) => s);
}

/**
 * Stage each file whose staged copy (hashed as root) differs from the local one: SFTP into a
 * fresh private folder of the login user, then root moves it into the staging folder. Files go
 * one after another. Returns how many were sent. Throws StagingError when the staging folder or
 * a folder above it is not root-only (nothing is sent then), or an upload came out wrong.
 */
export async function stageFiles(
  session: SshSession,
  files: StageFile[],
  log: StepLog,
): Promise<number> {
  if (files.length === 0) return 0;
  const remotes = files.map((f) => stagedPath(f.name));
  const [want, have] = await Promise.all([
    Promise.all(files.map((f) => localSha256(f.local))),
    stagedHashes(session, remotes, log),
  ]);
  const todo = files.flatMap((f, i) => {
    if (have[i] !== want[i]) return [{ local: f.local, remote: remotes[i] }];
    log.info(`${path.basename(f.local)} already staged (sha256 matches)`);
    return [];
  });
  if (todo.length === 0) return 0;
  const tmp = uploadTmpDir();
  await session.sftpMkdir(tmp, 0o700);
  try {
    for (const f of todo) {
      log.info(`uploading ${path.basename(f.local)}`);
      await session.sftpPut(f.local, `${tmp}/${path.posix.basename(f.remote)}`);
      const size = (await stat(f.local)).size;
      await mustRun(session, adoptUploadScript(tmp, f.remote, size), `stage ${f.remote}`, log);
    }
  } finally {
    // The folder is the login user's; root removes what may be left of it.
    await session
      .exec(`rm -rf -- ${q(tmp)}`, { log, quiet: true, check: false })
      .catch(() => undefined);
  }
  return todo.length;
}

/** Stage files on many hosts at once; each host's files go one after another. */
export async function stageAll(
  jobs: { session: SshSession; files: StageFile[]; log: StepLog }[],
): Promise<number> {
  const counts = await Promise.all(jobs.map((j) => stageFiles(j.session, j.files, j.log)));
  return counts.reduce((a, b) => a + b, 0);
}

/**
 * Run `command` on `host` as root (a counted change) once the staged `file` is verified as root
 * (trustedPathScript, then its sha256 against `sha256`, the local file's). On a mismatch the
 * staged copy is removed so the next run sends it again. Throws StagingError for an unsafe path
 * or a mismatch, RemoteCommandError when `command` itself fails.
 */
export async function installStaged(
  ctx: StageContext,
  host: string,
  step: string,
  staged: { file: string; sha256: string },
  command: string,
  o: { secrets?: string[]; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const script = verifiedScript(staged.file, staged.sha256, command);
  const r = await ctx.run(host, step, script, { change: true, check: false, ...o });
  if (r.code === 0) return r;
  const known = stagingFailure(host, step, r);
  if (r.code === EXIT_HASH_MISMATCH)
    await ctx.run(host, step, `rm -f -- ${q(staged.file)}`, { change: true, check: false });
  if (known) throw new StagingError(known);
  throw new RemoteCommandError(host, step, command, r, (s) => ctx.redactor.redact(s));
}
