// `arrowhead:local`: the QEMU stack's own config (read by config/clouds.ts, used by local.ts).
import type { CloudReader } from "../config/cloud-reader";
import { key } from "../config/collector";
import { DEFAULTS } from "../config/defaults";

export interface LocalSpec {
  /**
   * Path of the base qcow2 (CentOS 7 / Rocky GenericCloud) the user downloaded. This and the
   * other paths here are absolute: config resolves them from the project directory, `~` expanded.
   */
  baseImage: string;
  /** Optional direct-boot kernel and initrd (images without a bootloader, as the test image). */
  kernel?: string;
  initrd?: string;
  cpus: number;
  memoryMb: number;
  /** Where disks, pids, ports and serial logs live; default ~/.arrowhead/<stack>. */
  stateDir?: string;
  /** Private network of the machines (inside QEMU only, never on the host). */
  networkCidr: string;
  bootTimeoutSeconds: number;
}

const KERNEL_EXAMPLE = "local: {kernel: ./vmlinuz, initrd: ./initrd.img}";

/** `local`: QEMU machines; every path absolute (relative to the project directory, `~` expanded). */
export function readLocalConfig(read: CloudReader): LocalSpec {
  const l = read.section<LocalSpec>("local");
  read.need(
    "local.baseImage",
    l.baseImage,
    "local: {baseImage: ~/Downloads/CentOS-7-x86_64-GenericCloud.qcow2}",
  );
  if (Boolean(l.kernel) !== Boolean(l.initrd)) {
    read.c.add(
      `${key("local.kernel")}: set both local.kernel and local.initrd for direct kernel boot, or neither. Example: ${KERNEL_EXAMPLE}`,
    );
  }
  return {
    baseImage:
      read.path(
        "local.baseImage",
        l.baseImage,
        "local: {baseImage: ~/images/CentOS-7-x86_64-GenericCloud.qcow2}",
      ) ?? "",
    kernel: read.path("local.kernel", l.kernel, KERNEL_EXAMPLE),
    initrd: read.path("local.initrd", l.initrd, KERNEL_EXAMPLE),
    cpus: read.whole(
      "local.cpus",
      l.cpus,
      DEFAULTS.local.cpus,
      1,
      256,
      `local: {cpus: ${DEFAULTS.local.cpus}}`,
    ),
    memoryMb: read.whole(
      "local.memoryMb",
      l.memoryMb,
      DEFAULTS.local.memoryMb,
      1024,
      1048576,
      "local: {memoryMb: 3072}",
    ),
    stateDir: read.path("local.stateDir", l.stateDir, "local: {stateDir: ~/.arrowhead}"),
    networkCidr: read.cidr("local.networkCidr", l.networkCidr, DEFAULTS.local.networkCidr),
    bootTimeoutSeconds: read.whole(
      "local.bootTimeoutSeconds",
      l.bootTimeoutSeconds,
      DEFAULTS.local.bootTimeoutSeconds,
      30,
      86400,
      "local: {bootTimeoutSeconds: 900}",
    ),
  };
}
