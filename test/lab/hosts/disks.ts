// Raw block devices for SDS: sparse files in the lab's state directory, attached to loop
// devices on the host and bound into a container as /dev/vdb, /dev/vdc, ...
import * as fs from "node:fs";
import * as path from "node:path";
import { run, runSync } from "./run";

export interface DataDisk {
  /** Name inside the host, e.g. /dev/vdb. */
  guestPath: string;
  /** Loop device on this machine, e.g. /dev/loop12. */
  loop: string;
  file: string;
}

export function guestDiskName(i: number): string {
  return `/dev/vd${String.fromCharCode("b".charCodeAt(0) + i)}`;
}

/**
 * Creates (or reuses, keeping data) count sparse files of sizeGb and attaches each to a loop
 * device.
 */
export async function attachDisks(
  dir: string,
  host: string,
  count: number,
  sizeGb: number,
): Promise<DataDisk[]> {
  fs.mkdirSync(dir, { recursive: true });
  const disks: DataDisk[] = [];
  for (let i = 0; i < count; i++) {
    const guestPath = guestDiskName(i);
    const file = path.join(dir, `${host}-${path.basename(guestPath)}.img`);
    if (!fs.existsSync(file)) {
      const fd = fs.openSync(file, "w", 0o600);
      fs.ftruncateSync(fd, sizeGb * 1024 ** 3);
      fs.closeSync(fd);
    }
    const existing = loopsBackedBy(file);
    const loop = existing[0] ?? (await run("losetup", ["--find", "--show", file])).stdout.trim();
    disks.push({ guestPath, loop, file });
  }
  return disks;
}

export interface LoopInfo {
  name: string;
  backFile: string;
  /** "maj:min" of the filesystem the backing file lives on. */
  backDev: string;
}

export function listLoops(): LoopInfo[] {
  const r = runSync("losetup", ["--list", "--json", "-O", "NAME,BACK-FILE,BACK-MAJ:MIN"], {
    allowFail: true,
  });
  if (r.code !== 0 || !r.stdout.trim()) return [];
  const parsed = JSON.parse(r.stdout) as {
    loopdevices: Array<{ name: string; "back-file": string | null; "back-maj:min": string }>;
  };
  return parsed.loopdevices.map((l) => ({
    name: l.name,
    backFile: (l["back-file"] ?? "").replace(/ \(deleted\)$/, ""),
    // losetup pads this column even in JSON.
    backDev: (l["back-maj:min"] ?? "").trim(),
  }));
}

export function loopsBackedBy(file: string): string[] {
  return listLoops()
    .filter((l) => l.backFile === file)
    .map((l) => l.name);
}

export function detachLoopSync(name: string): void {
  runSync("losetup", ["-d", name], { allowFail: true });
}
