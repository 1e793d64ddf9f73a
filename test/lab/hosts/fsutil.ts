// Removing directory trees that may have something mounted inside (a failed debootstrap leaves
// proc/sys mounted in its target; a host root is an overlay mount): unmount first, and refuse
// to delete across a mount point that would not go away.
import * as fs from "node:fs";
import { runSync } from "./run";

export function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

export function removeTree(dir: string): void {
  for (const m of mountsUnder(dir)) runSync("umount", ["-l", m], { allowFail: true });
  const left = mountsUnder(dir);
  if (left.length > 0) {
    throw new Error(`lab: cannot remove ${dir}: still mounted: ${left.join(", ")} (umount them)`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}
