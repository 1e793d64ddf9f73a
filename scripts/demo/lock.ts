// One demo command at a time: a lock folder holding the owner's pid. A second `npm run demo`
// (or `down`) while one runs is refused, naming the pid; a lock left by a dead process is taken.
import * as fs from "node:fs";
import * as path from "node:path";
import { alive } from "../../test/lab/hosts/lock";
import { PreflightError } from "./preflight";

/**
 * Takes the lock at `dir` (its parent is created 0700) and returns its release function, also
 * run at process exit. Throws PreflightError when a live process holds it.
 */
export function takeLock(dir: string): () => void {
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const pidFile = path.join(dir, "pid");
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(pidFile, String(process.pid));
      const release = () => {
        if (readPid(pidFile) === process.pid) fs.rmSync(dir, { recursive: true, force: true });
      };
      process.on("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = readPid(pidFile);
      const young = pid === undefined && Date.now() - mtimeMs(dir) < 10_000;
      if ((pid !== undefined && alive(pid)) || young) {
        throw new PreflightError(
          `another demo command (pid ${pid ?? "starting"}) is running: wait for it to finish, or stop it ` +
            `with: kill ${pid ?? "<its pid>"}`,
        );
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`could not take the demo lock ${dir}: remove it if no demo is running`);
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(file, "utf8"));
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function mtimeMs(p: string): number {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}
