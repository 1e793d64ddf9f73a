// Where relative paths in stack config point: the project directory (the folder holding
// Pulumi.yaml), whichever directory `pulumi` was started from. Pulumi's language host runs the
// program with `src/` or the project as working directory depending on how it is started
// (issue 16), so process.cwd() is never used for them.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const found = new Map<string, string>();

/**
 * The nearest folder at or above `from` (default: this module's folder) that holds
 * Pulumi.yaml. Throws when there is none up to the root: the program runs from its project.
 */
export function projectDir(from: string = __dirname): string {
  const start = path.resolve(from);
  const known = found.get(start);
  if (known) return known;
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
      found.set(start, dir);
      return dir;
    }
    if (path.dirname(dir) === dir)
      throw new Error(`no Pulumi.yaml in ${start} or any folder above it`);
  }
}

/** `~` and `~/...` as the user's home folder; anything else unchanged. */
export function expandHome(p: string): string {
  return p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p;
}

/**
 * A path the user wrote in stack config, made absolute: `~` expanded, then relative to the
 * project directory (not the working directory). An absolute path stays as it is (normalized).
 */
export function resolveProjectPath(p: string, base: string = projectDir()): string {
  return path.resolve(base, expandHome(p));
}
