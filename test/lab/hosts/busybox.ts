// A tiny Docker image that needs no registry: a rootfs tarball with a static busybox and its
// applet links, for `docker import` inside hosts (no internet, so no `docker pull`).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cacheRoot } from "./paths";
import { run } from "./run";

/** Path inside hosts where the tarball is bound read-only. */
export const BUSYBOX_TAR_IN_HOST = "/usr/share/arrowhead-lab/busybox-rootfs.tar";

export async function ensureBusyboxTar(baseRootfs: string, key: string): Promise<string> {
  const tar = path.join(cacheRoot(), `busybox-rootfs-${key}.tar`);
  if (fs.existsSync(tar)) return tar;
  const busybox = path.join(baseRootfs, "bin/busybox");
  if (!fs.existsSync(busybox)) {
    throw new Error(`lab: ${busybox} is missing; the base rootfs needs busybox-static`);
  }
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), "ahlab-bb-"));
  try {
    for (const d of ["bin", "data", "tmp", "etc"]) fs.mkdirSync(path.join(stage, d));
    fs.copyFileSync(busybox, path.join(stage, "bin/busybox"));
    fs.chmodSync(path.join(stage, "bin/busybox"), 0o755);
    // busybox-static is a static binary, so running the base's copy here is safe.
    const applets = (await run(busybox, ["--list"])).stdout.split("\n").filter(Boolean);
    for (const a of applets) {
      if (a !== "busybox") fs.symlinkSync("busybox", path.join(stage, "bin", a));
    }
    const tmp = `${tar}.${process.pid}`;
    // The e2e image build can come first on a new machine, before any lab made the cache.
    fs.mkdirSync(path.dirname(tar), { recursive: true });
    await run("tar", ["-C", stage, "-cf", tmp, "."]);
    fs.renameSync(tmp, tar);
    return tar;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
