// The staging scripts of upload.ts, run here with /bin/sh against real folders: the path check
// refuses symlinks, other owners and group/other-writable folders anywhere up to `/`; the
// verified install runs its command only for the right hash; an upload is taken from the
// private folder only when whole. The cases that need a root-owned folder tree run as root only.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adoptUploadScript,
  ensureStagingScript,
  EXIT_BAD_UPLOAD,
  EXIT_HASH_MISMATCH,
  EXIT_UNSAFE,
  stagedPath,
  stagedSha256Script,
  STAGING_ROOT,
  stagingFailure,
  trustedPathScript,
  uploadTmpDir,
  verifiedScript,
} from "../../src/install/upload";

const sh = (script: string) => {
  const r = spawnSync("/bin/sh", ["-c", script], { encoding: "utf8" });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};
const sha = (text: string) => createHash("sha256").update(text).digest("hex");
const isRoot = process.getuid?.() === 0;

describe("staging names", () => {
  it("puts names under the staging root", () => {
    expect(stagedPath("rpms/EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm")).toBe(
      `${STAGING_ROOT}/rpms/EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm`,
    );
    expect(stagedPath("bin/scaleio-volume-plugin")).toBe(
      `${STAGING_ROOT}/bin/scaleio-volume-plugin`,
    );
  });

  it.each([
    "../etc/passwd",
    "rpms/../../x",
    ".hidden",
    "rpms/.x",
    "a/b/c",
    "",
    "rpms/",
    "/abs",
    "rpms/$(id)",
    "rpms/a b",
    "rpms/a;b",
  ])("refuses %j", (name) => {
    expect(() => stagedPath(name)).toThrow(/cannot stage/);
  });

  it("gives every upload a fresh private folder name under /var/tmp", () => {
    const a = uploadTmpDir();
    expect(a).toMatch(/^\/var\/tmp\/arrowhead-upload\.[0-9a-f]{24}$/);
    expect(uploadTmpDir()).not.toBe(a);
  });

  it("refuses paths the scripts cannot take as they are", () => {
    expect(() => trustedPathScript("relative/x")).toThrow(/plain absolute/);
    expect(() => trustedPathScript("/a/../b")).toThrow(/plain absolute/);
    expect(() => trustedPathScript("/a//b")).toThrow(/normalised/);
    expect(() => verifiedScript("/usr/bin/env", "abc", "true")).toThrow(/not a sha256/);
    expect(() => ensureStagingScript(["/etc/x"])).toThrow(/not under \/var\/lib\/arrowhead/);
  });

  it("explains each staging failure with the fix", () => {
    const r = (code: number, stderr: string) => ({ code, stdout: "", stderr });
    expect(
      stagingFailure("node2", "packages", r(EXIT_UNSAFE, "unsafe: /x is a symbolic link")),
    ).toMatch(
      /^\[node2\] packages: refused to stage or install: unsafe: \/x is a symbolic link\. Only root .*rm -rf \/var\/lib\/arrowhead/,
    );
    expect(stagingFailure("node2", "packages", r(EXIT_HASH_MISMATCH, "h"))).toMatch(
      /refused to install: h\..*removed\. Re-run/,
    );
    expect(stagingFailure("node2", "packages", r(EXIT_BAD_UPLOAD, "short"))).toMatch(
      /upload failed: short/,
    );
    expect(stagingFailure("node2", "packages", r(1, "yum said no"))).toBeUndefined();
  });
});

describe("path check on this machine", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ah-upload-")));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("accepts a system file whose every folder only root can write", () => {
    const env = fs.realpathSync("/usr/bin/env");
    expect(sh(trustedPathScript(env)).code).toBe(0);
    const want = createHash("sha256").update(fs.readFileSync(env)).digest("hex");
    expect(sh(stagedSha256Script(env)).stdout.trim()).toBe(want);
    const ok = sh(verifiedScript(env, want, "echo ran"));
    expect(ok).toMatchObject({ code: 0, stdout: "ran\n" });
    const bad = sh(verifiedScript(env, sha("something else"), "echo ran"));
    expect(bad.code).toBe(EXIT_HASH_MISMATCH);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain(`has sha256 ${want}, not ${sha("something else")}`);
  });

  it("refuses a folder under a world-writable one (the system temp folder) and never runs the command", () => {
    fs.writeFileSync(path.join(tmp, "f"), "x");
    const r = sh(verifiedScript(path.join(tmp, "f"), sha("x"), "echo ran"));
    expect(r.code).toBe(EXIT_UNSAFE);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^unsafe: /);
    expect(sh(stagedSha256Script(path.join(tmp, "f"))).stdout).toBe("");
  });

  it("refuses a missing file and a symbolic link", () => {
    expect(sh(trustedPathScript(path.join(tmp, "absent"))).stderr).toContain(
      `unsafe: ${tmp}/absent does not exist`,
    );
    fs.symlinkSync("/usr/bin/env", path.join(tmp, "link"));
    expect(sh(trustedPathScript(path.join(tmp, "link"))).stderr).toContain(
      `unsafe: ${tmp}/link is a symbolic link`,
    );
  });
});

// A folder tree only root can write: under root's home (0700) on this machine.
describe.runIf(isRoot)("staging scripts in a root-only folder (as root)", () => {
  let base: string;
  beforeAll(() => {
    base = fs.realpathSync(fs.mkdtempSync(path.join(os.homedir(), "ah-upload-test-")));
    const chain = sh(trustedPathScript(base));
    if (chain.code !== 0) throw new Error(`${base} is not root-only here: ${chain.stderr}`);
  });
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it("creates the staging folders 0700, refuses a folder someone else owns or opened up", () => {
    const own = path.join(base, "arrowhead");
    const root = path.join(own, "staging");
    const rpms = path.join(root, "rpms");
    expect(sh(ensureStagingScript([rpms], own, root))).toMatchObject({ code: 0 });
    for (const d of [own, root, rpms]) expect(fs.statSync(d).mode & 0o7777).toBe(0o700);
    // A second run changes nothing and still passes.
    expect(sh(ensureStagingScript([rpms], own, root)).code).toBe(0);

    fs.chmodSync(root, 0o777);
    const open = sh(ensureStagingScript([rpms], own, root));
    expect(open.code).toBe(EXIT_UNSAFE);
    expect(open.stderr).toContain(`unsafe: ${root} is writable by its group or others`);
    expect(fs.statSync(root).mode & 0o7777).toBe(0o777); // refused, not silently adopted
    fs.chmodSync(root, 0o700);

    fs.chownSync(rpms, 65534, 65534);
    const other = sh(ensureStagingScript([rpms], own, root));
    expect(other.code).toBe(EXIT_UNSAFE);
    expect(other.stderr).toContain(`unsafe: ${rpms} is owned by uid 65534, not root`);
    fs.chownSync(rpms, 0, 0);

    fs.rmSync(rpms, { recursive: true });
    fs.symlinkSync(base, rpms);
    expect(sh(ensureStagingScript([rpms], own, root)).stderr).toContain(
      `unsafe: ${rpms} is a symbolic link`,
    );
    fs.rmSync(rpms);
  });

  it("takes an upload from a private folder only when whole, root-owned 0600", () => {
    const dest = path.join(base, "staged");
    fs.mkdirSync(dest, { mode: 0o700 });
    const up = path.join(base, "up");
    fs.mkdirSync(up, { mode: 0o700 });
    fs.writeFileSync(path.join(up, "tool"), "12345");
    fs.chownSync(path.join(up, "tool"), 65534, 65534);

    const short = sh(adoptUploadScript(up, path.join(dest, "tool"), 9));
    expect(short.code).toBe(EXIT_BAD_UPLOAD);
    expect(short.stderr).toContain("has 5 bytes, not 9");
    expect(fs.existsSync(path.join(dest, "tool"))).toBe(false);

    fs.chmodSync(up, 0o755);
    const shared = sh(adoptUploadScript(up, path.join(dest, "tool"), 5));
    expect(shared.code).toBe(EXIT_BAD_UPLOAD);
    expect(shared.stderr).toContain("is not a private folder");
    fs.chmodSync(up, 0o700);

    expect(sh(adoptUploadScript(up, path.join(dest, "tool"), 5)).code).toBe(0);
    const st = fs.statSync(path.join(dest, "tool"));
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([0, 0, 0o600]);
    expect(fs.readFileSync(path.join(dest, "tool"), "utf8")).toBe("12345");
    expect(fs.existsSync(path.join(up, "tool"))).toBe(false);

    // Installed only for the right hash, and only while the file stays root-only.
    const file = path.join(dest, "tool");
    expect(sh(verifiedScript(file, sha("12345"), "echo ran")).stdout).toBe("ran\n");
    fs.chmodSync(file, 0o666);
    const open = sh(verifiedScript(file, sha("12345"), "echo ran"));
    expect([open.code, open.stdout]).toEqual([EXIT_UNSAFE, ""]);
    expect(open.stderr).toContain(`unsafe: ${file} is writable by its group or others`);
  });
});
