// Stage "prepare": make a host ready for the ScaleIO packages. Checks the OS matches the RPMs,
// points CentOS 7's repo files at the vault (the mirrors are gone), installs prerequisites.
import type { Machine, OsName } from "../../machine";
import { distTagOf } from "../../machine";
import type { InstallContext } from "../context";
import { q } from "../shell";
import { DEFAULT_VAULT_URL } from "../spec";

export const STEP = "prepare";

/** /etc/os-release -> our OS name (undefined when unsupported). */
export function osFromRelease(text: string): { os?: OsName; pretty: string } {
  const get = (k: string) => new RegExp(`^${k}="?([^"\\n]*)"?`, "m").exec(text)?.[1] ?? "";
  const id = get("ID");
  const major = get("VERSION_ID").split(".")[0];
  const pretty = get("PRETTY_NAME") || `${id} ${get("VERSION_ID")}`;
  if (id === "centos" && major === "7") return { os: "centos7", pretty };
  if (["rocky", "rhel", "almalinux", "centos"].includes(id) && major === "8")
    return { os: "rocky8", pretty };
  if (["rocky", "rhel", "almalinux", "centos"].includes(id) && major === "9")
    return { os: "rocky9", pretty };
  return { pretty };
}

/**
 * Shell that rewrites CentOS-*.repo to the vault: mirrorlist commented out, baseurl pointing at
 * `<vault>/<repo>/$basearch/`. Prints "changed" when it changed a file (and only then).
 */
export function vaultRewriteScript(vaultUrl: string): string {
  const base = vaultUrl.replace(/\/+$/, "");
  const sedBase = base.replace(/[|&\\]/g, "\\$&");
  return [
    `for f in /etc/yum.repos.d/CentOS-*.repo; do`,
    `  [ -f "$f" ] || continue;`,
    `  if grep -qE '^mirrorlist=|^#?baseurl=https?://mirror\\.centos\\.org' "$f"; then`,
    `    sed -i -e 's|^mirrorlist=|#mirrorlist=|' -e ${q(`s|^#\\?baseurl=https\\?://mirror\\.centos\\.org/centos/\\$releasever|baseurl=${sedBase}|`)} "$f";`,
    `    echo "changed $f";`,
    `  fi;`,
    `done`,
  ].join(" ");
}

/** Prerequisite packages per role (reference §3). */
export function prerequisites(m: Machine, os: OsName, dialect: string): string[] {
  const p = ["numactl", "libaio"];
  if (m.mdm) {
    p.push("bash-completion", os === "centos7" ? "python" : "python3");
    if (os === "centos7" && dialect !== "3.x") p.push("mutt", "python-paramiko");
  }
  if (m.services.includes("gateway"))
    p.push(dialect === "1.3x" ? "java-1.7.0-openjdk" : "java-1.8.0-openjdk");
  return p;
}

/** Which of `pkgs` rpm says are not installed. */
export async function missingPackages(
  ctx: InstallContext,
  host: string,
  step: string,
  pkgs: string[],
): Promise<string[]> {
  if (pkgs.length === 0) return [];
  const r = await ctx.run(host, step, `rpm -q ${pkgs.map(q).join(" ")}`, {
    check: false,
    quiet: true,
  });
  return pkgs.filter((p) =>
    new RegExp(`package ${p.replace(/[.+]/g, "\\$&")} is not installed`).test(r.stdout + r.stderr),
  );
}

export async function fixRepos(ctx: InstallContext, host: string, step: string): Promise<void> {
  if (ctx.spec.os !== "centos7") return;
  const script = vaultRewriteScript(ctx.spec.vaultUrl ?? DEFAULT_VAULT_URL);
  // Query first (grep), so an already rewritten host sees no state-changing command.
  const check = await ctx.run(
    host,
    step,
    `grep -lE '^mirrorlist=|^#?baseurl=https?://mirror\\.centos\\.org' /etc/yum.repos.d/CentOS-*.repo 2>/dev/null || true`,
    { quiet: true },
  );
  if (check.stdout.trim() === "") return;
  await ctx.run(host, step, script, { change: true });
}

/**
 * SSH answers before cloud-init has finished a new machine's first boot: its final stage runs
 * the stack's host preparation script (repo files, yum.conf) and could run yum at the same time
 * as we do. Wait for it (bounded: an image whose cloud-init never ran must not hang the install).
 */
export const WAIT_FOR_CLOUD_INIT =
  "if command -v cloud-init >/dev/null 2>&1; then timeout 1200 cloud-init status --wait >/dev/null 2>&1 || true; fi";

async function waitForFirstBoot(ctx: InstallContext, host: string): Promise<void> {
  await ctx.run(host, STEP, WAIT_FOR_CLOUD_INIT, { quiet: true, timeoutMs: 25 * 60_000 });
}

export async function prepareHost(ctx: InstallContext, host: string): Promise<{ os: OsName }> {
  await ctx.step(host, STEP);
  const m = ctx.machine(host);
  if (!ctx.spec.adopted) await waitForFirstBoot(ctx, host);
  const rel = await ctx.run(host, STEP, "cat /etc/os-release", { quiet: true });
  const { os, pretty } = osFromRelease(rel.stdout);
  const want = ctx.spec.os;
  if (os !== want || distTagOf(want) !== ctx.rpms.dist) {
    throw new Error(
      `[${host}] the host runs ${pretty} (${os ?? "unsupported"}) but the stack is set up for ${want} ` +
        `with ${ctx.rpms.dist} packages. Use machines running ${want}, or set the stack's os to match the hosts ` +
        `and put the matching ${os ? distTagOf(os) : ""} ScaleIO packages in ${ctx.rpms.dir}.`,
    );
  }
  await fixRepos(ctx, host, STEP);
  const missing = await missingPackages(ctx, host, STEP, prerequisites(m, want, ctx.rpms.dialect));
  if (missing.length > 0) {
    await ctx.run(host, STEP, `yum install -y ${missing.map(q).join(" ")}`, {
      change: true,
      timeoutMs: 20 * 60_000,
    });
    // Packages may drop new repo files that point at dead mirrors again.
    await fixRepos(ctx, host, STEP);
  }
  return { os: want };
}
