// A cross-process lock (a directory holding the owner's pid) so two test processes never
// build the same cache entry at once. A lock whose owner is dead is taken over.
import * as fs from "node:fs";
import * as path from "node:path";

/** Whether process `pid` exists (EPERM: it does, owned by another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function mtimeMs(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return Date.now();
  }
}

export async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const owner = path.join(lockDir, "pid");
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(owner, String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let pid = 0;
      try {
        pid = Number(fs.readFileSync(owner, "utf8"));
      } catch {
        // Owner is between mkdir and writing its pid, or died right there.
      }
      const orphan = pid === 0 && Date.now() - mtimeMs(lockDir) > 30_000;
      if ((pid > 0 && !alive(pid)) || orphan) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}
