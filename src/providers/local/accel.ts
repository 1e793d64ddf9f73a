// Chooses QEMU's accelerator. KVM when /dev/kvm really runs a guest; otherwise TCG (software
// emulation), which works everywhere but runs guests 5-18x slower than the host.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type Accel = "kvm" | "tcg";
export type AccelSetting = Accel | "auto";

export interface AccelFacts {
  /** Can /dev/kvm be opened read-write? */
  kvmUsable: boolean;
  /** Is the KVM module kvm_pvm (a paravirtual KVM inside a VM that stock kernels do not boot on)? */
  kvmIsPvm: boolean;
  /** Did a tiny guest boot under KVM and print on its serial port? Only asked when needed. */
  kvmBoots: () => boolean;
}

export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/** QEMU arguments for an accelerator: TCG uses all host threads and emulates every CPU feature. */
export function accelArgs(accel: Accel): string[] {
  return accel === "kvm"
    ? ["-accel", "kvm", "-cpu", "host"]
    : ["-accel", "tcg,thread=multi", "-cpu", "max"];
}

const SLOW = "guests run 5-18x slower than on KVM: expect minutes, not seconds, per boot";

/** Pure decision, given the facts (probed lazily so TCG forced by config probes nothing). */
export function chooseAccel(setting: AccelSetting, facts: AccelFacts): AccelChoice {
  if (setting === "tcg") return { accel: "tcg", reason: `TCG forced by config; ${SLOW}` };
  if (!facts.kvmUsable) {
    if (setting === "kvm") {
      throw new Error(
        "local.accel is 'kvm' but /dev/kvm cannot be opened read-write: load the kvm module, " +
          "add your user to the 'kvm' group, or set arrowhead:local.accel to 'auto' or 'tcg'",
      );
    }
    return { accel: "tcg", reason: `TCG: /dev/kvm is absent or not writable; ${SLOW}` };
  }
  if (setting === "kvm") return { accel: "kvm", reason: "KVM forced by config" };
  if (facts.kvmIsPvm) {
    return {
      accel: "tcg",
      reason: `TCG: /dev/kvm is kvm_pvm (stock kernels do not boot); ${SLOW}`,
    };
  }
  if (!facts.kvmBoots()) {
    return { accel: "tcg", reason: `TCG: a probe guest did not boot under KVM; ${SLOW}` };
  }
  return { accel: "kvm", reason: "KVM: /dev/kvm works" };
}

/**
 * A 512-byte boot sector that writes "OK" to COM1 and halts: the smallest real guest. Real mode
 * code: mov dx,0x3f8; mov al,'O'; out dx,al; mov al,'K'; out dx,al; then
 * `out 0xf4,al` makes QEMU's isa-debug-exit device end QEMU at once; cli; hlt; jmp $-2.
 */
export function probeBootSector(): Buffer {
  const code = [
    0xba, 0xf8, 0x03, 0xb0, 0x4f, 0xee, 0xb0, 0x4b, 0xee, 0xb0, 0x00, 0xe6, 0xf4, 0xfa, 0xf4, 0xeb,
    0xfd,
  ];
  const sector = Buffer.alloc(512);
  Buffer.from(code).copy(sector);
  sector[510] = 0x55;
  sector[511] = 0xaa;
  return sector;
}

/** Boots the probe sector with the given accelerator; true when it printed "OK" in time. */
export function bootProbe(qemu: string, accel: Accel, timeoutMs = 10_000): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "arrowhead-accel-"));
  try {
    const disk = path.join(dir, "probe.img");
    fs.writeFileSync(disk, probeBootSector());
    const r = spawnSync(
      qemu,
      [
        ...(accel === "kvm" ? ["-accel", "kvm"] : ["-accel", "tcg"]),
        "-nodefaults",
        "-no-user-config",
        "-display",
        "none",
        "-m",
        "16",
        "-drive",
        `file=${disk},format=raw,if=floppy`,
        "-boot",
        "a",
        "-serial",
        "stdio",
        "-device",
        "isa-debug-exit,iobase=0xf4,iosize=0x04",
      ],
      { timeout: timeoutMs, encoding: "utf8", killSignal: "SIGKILL" },
    );
    return (r.stdout ?? "").includes("OK");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Probes this host. */
export function hostAccelFacts(qemu: string): AccelFacts {
  let kvmUsable = false;
  try {
    fs.closeSync(fs.openSync("/dev/kvm", "r+"));
    kvmUsable = true;
  } catch {
    kvmUsable = false;
  }
  return {
    kvmUsable,
    kvmIsPvm: fs.existsSync("/sys/module/kvm_pvm"),
    kvmBoots: () => bootProbe(qemu, "kvm"),
  };
}

export function detectAccel(setting: AccelSetting, qemu: string): AccelChoice {
  return chooseAccel(setting, hostAccelFacts(qemu));
}
