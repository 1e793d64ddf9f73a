// CentOS 7's mirrors are gone: its repo files must point at the vault. Checked (read-only)
// first, so a host whose files are already rewritten sees no state-changing command.
import type { StageContext } from "../context";
import { q } from "../shell";
import { DEFAULT_VAULT_URL } from "../spec";

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

/** Lists CentOS repo files still pointing at the dead mirrors (empty output: none). */
export const DEAD_MIRROR_REPOS = `grep -lE '^mirrorlist=|^#?baseurl=https?://mirror\\.centos\\.org' /etc/yum.repos.d/CentOS-*.repo 2>/dev/null || true`;

export async function fixRepos(ctx: StageContext, host: string, step: string): Promise<void> {
  if (ctx.spec.os !== "centos7") return;
  const script = vaultRewriteScript(ctx.spec.vaultUrl ?? DEFAULT_VAULT_URL);
  // Query first (grep), so an already rewritten host sees no state-changing command.
  const check = await ctx.run(host, step, DEAD_MIRROR_REPOS, { quiet: true });
  if (check.stdout.trim() === "") return;
  await ctx.run(host, step, script, { change: true });
}
