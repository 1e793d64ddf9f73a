// SDS data devices, checked on every SDS host at the start of the prepare stage, BEFORE any
// host changes anything: ScaleIO takes a device whole and overwrites it, so a device that is
// mounted, partitioned, holds a file system (or LVM, RAID, swap), or is too small is refused,
// naming host, device and what is on it. A device the user lists in `wipeDevices` for that host
// may hold a file system or a partition table: its signatures are erased (wipefs -a) first, once
// no device anywhere is refused. Mounted or in-use devices and too small ones are refused even
// then: wiping them would not be enough, or would destroy data in use.
import type { StageContext } from "../context";
import { q } from "../shell";

/**
 * Smallest SDS device accepted, in GiB. The reference (§4) and EMC's 1.31/1.32 minimum
 * requirements say 100 GB per device (the MDM refuses smaller ones with SDS_ADD_DEV_SIZE_PROBLEM,
 * "SDS device size error"); some user guides ask for 200 GB. Checked before `--add_sds` so the
 * user sees the host and device instead of the MDM's error halfway through the storage stage.
 */
export const MIN_SDS_DEVICE_GB = 100;
const GIB = 1024 ** 3;

/** What the probe found about one configured device. */
export interface DeviceFinding {
  /** The path as configured (e.g. /dev/vdb or a /dev/disk/by-id link). */
  device: string;
  /** Its resolved path (readlink -f), "" when it does not exist. */
  real: string;
  exists: boolean;
  block: boolean;
  /** Size in bytes (0 when unknown). */
  sizeBytes: number;
  /** "source on target" for every mount of the device or one of its partitions. */
  mounts: string[];
  /** Active swap on the device or a partition. */
  swaps: string[];
  /** Partition device names seen in sysfs (real hosts; containers see none). */
  partitions: string[];
  /** Kernel holders (device-mapper/LVM, md RAID) using the device. */
  holders: string[];
  /** Signature blkid finds on the whole device: file system or other TYPE ("ext4", "LVM2_member", "swap"...). */
  fsType: string;
  /** Partition table type (PTTYPE: "gpt", "dos"). */
  ptType: string;
  /** Label or UUID of the file system, for the message. */
  label: string;
}

/**
 * One read-only shell script that prints, per device, `dev=<path>` followed by `key=value`
 * lines (real, missing, notblock, size, mount, swap, part, holder, TYPE/PTTYPE/LABEL/UUID from
 * `blkid -p`). Works in containers too, where sysfs does not know the device: the signatures
 * come from reading the device itself (blkid -p, blockdev), mounts from /proc/self/mounts.
 */
export function deviceProbeScript(devices: string[]): string {
  return [
    `for d in ${devices.map(q).join(" ")}; do`,
    `  echo "dev=$d"`,
    `  [ -e "$d" ] || { echo missing=1; continue; }`,
    `  r=$(readlink -f "$d"); echo "real=$r"`,
    `  [ -b "$r" ] || { echo notblock=1; continue; }`,
    `  n=$(basename "$r")`,
    `  s=$(blockdev --getsize64 "$r" 2>/dev/null) || s=$(( $(cat /sys/class/block/$n/size 2>/dev/null || echo 0) * 512 ))`,
    `  echo "size=$s"`,
    `  while read -r src tgt rest; do case "$src" in /dev/*) x=$(readlink -f "$src"); case "$x" in "$r"|"$r"[0-9]*|"$r"p[0-9]*) echo "mount=$src on $tgt";; esac;; esac; done < /proc/self/mounts`,
    `  while read -r src rest; do case "$src" in /dev/*) x=$(readlink -f "$src"); case "$x" in "$r"|"$r"[0-9]*|"$r"p[0-9]*) echo "swap=$src";; esac;; esac; done < /proc/swaps`,
    `  for p in /sys/class/block/$n/$n*; do [ -e "$p/partition" ] && echo "part=/dev/$(basename "$p")"; done`,
    `  for h in /sys/class/block/$n/holders/*; do [ -e "$h" ] && echo "holder=$(basename "$h")"; done`,
    `  blkid -p -o export "$r" 2>/dev/null | grep -E '^(TYPE|PTTYPE|LABEL|UUID)='`,
    `done`,
    `true`,
  ].join("\n");
}

/** Parse `deviceProbeScript`'s output, one finding per device, in order. */
export function parseDeviceProbe(out: string): DeviceFinding[] {
  const found: DeviceFinding[] = [];
  let cur: DeviceFinding | undefined;
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1).trim();
    if (k === "dev") {
      cur = {
        device: v,
        real: "",
        exists: true,
        block: true,
        sizeBytes: 0,
        mounts: [],
        swaps: [],
        partitions: [],
        holders: [],
        fsType: "",
        ptType: "",
        label: "",
      };
      found.push(cur);
      continue;
    }
    if (!cur) continue;
    if (k === "missing") {
      cur.exists = false;
      cur.block = false;
    } else if (k === "notblock") cur.block = false;
    else if (k === "real") cur.real = v;
    else if (k === "size") cur.sizeBytes = Number(v) || 0;
    else if (k === "mount") cur.mounts.push(v);
    else if (k === "swap") cur.swaps.push(v);
    else if (k === "part") cur.partitions.push(v);
    else if (k === "holder") cur.holders.push(v);
    else if (k === "TYPE") cur.fsType = v;
    else if (k === "PTTYPE") cur.ptType = v;
    else if (k === "LABEL") cur.label = `label "${v}"`;
    else if (k === "UUID" && !cur.label) cur.label = `UUID ${v}`;
  }
  return found;
}

/** What to do about the devices of one host. */
export interface DeviceVerdict {
  /** One sentence per refused device (host, device, what is on it or that it is missing, the fix). */
  refused: string[];
  /** Devices to erase (listed in wipeDevices, holding only signatures). */
  wipe: DeviceFinding[];
}

/**
 * Judge a host's SDS devices. Pure. `wipe` is the host's `wipeDevices` list (paths as
 * configured, or their resolved paths). `minGb` in GiB (default MIN_SDS_DEVICE_GB).
 */
export function judgeDevices(
  host: string,
  findings: DeviceFinding[],
  wipe: readonly string[] = [],
  minGb = MIN_SDS_DEVICE_GB,
): DeviceVerdict {
  const refused: string[] = [];
  const toWipe: DeviceFinding[] = [];
  const optIn = `arrowhead:wipeDevices: {${host}: [<device>]}`;
  for (const f of findings) {
    const at = `SDS device ${f.device} on ${host}`;
    // Found here, before any host changes, not at the storage stage after the cluster exists.
    if (!f.exists || !f.block) {
      refused.push(
        `${at} ${f.exists ? "is not a block device" : "does not exist"}: fix dataDisks for node ${host} ` +
          `(its disks: lsblk -dn -o NAME,SIZE,TYPE on the host)`,
      );
      continue;
    }
    const inUse = [
      ...f.mounts.map((m) => `mounted (${m})`),
      ...f.swaps.map((s) => `active swap (${s})`),
      ...f.holders.map((h) => `in use by ${h} (device-mapper/LVM or RAID)`),
    ];
    if (inUse.length > 0) {
      refused.push(
        `${at} is ${inUse.join(", ")}: ScaleIO would destroy what is on it. Unmount it and remove it from /etc/fstab ` +
          `(or stop using it), save its data, or name another device; wipeDevices does not cover a device in use`,
      );
      continue;
    }
    if (f.sizeBytes > 0 && f.sizeBytes < minGb * GIB) {
      refused.push(
        `${at} is ${(f.sizeBytes / GIB).toFixed(1)} GB; ScaleIO needs at least ${minGb} GB per SDS device: ` +
          `use a larger device (sdsDisks.sizeGb, or another disk in dataDisks)`,
      );
      continue;
    }
    const holds = [
      ...(f.ptType
        ? [
            `a ${f.ptType} partition table` +
              (f.partitions.length ? ` (partitions ${f.partitions.join(", ")})` : ""),
          ]
        : f.partitions.length
          ? [`partitions ${f.partitions.join(", ")}`]
          : []),
      ...(f.fsType ? [`a ${f.fsType} signature${f.label ? ` (${f.label})` : ""}`] : []),
    ];
    if (holds.length === 0) continue;
    if (wipe.includes(f.device) || (f.real !== "" && wipe.includes(f.real))) {
      toWipe.push(f);
      continue;
    }
    refused.push(
      `${at} holds ${holds.join(" and ")}; ScaleIO would overwrite it. If its data is not needed, ` +
        `allow Arrowhead to erase it with ${optIn.replace("<device>", f.device)}; otherwise name an empty device`,
    );
  }
  return { refused, wipe: toWipe };
}

/** Erases every signature (file system, partition table) of the device and its partitions. */
export function wipeCommand(f: DeviceFinding): string {
  const dev = q(f.real || f.device);
  const parts = f.partitions.map(q).join(" ");
  return (parts ? `wipefs -a ${parts} && ` : "") + `wipefs -a ${dev}`;
}

/** One SDS host's outcome: the refusal message (none when its devices are fine) and what to erase. */
export interface HostDevices {
  error?: string;
  wipe: DeviceFinding[];
}

/**
 * Probe and judge every SDS host's devices at once (one read-only round trip per host). A host
 * whose probe fails (SSH) counts as refused with that error. Never rejects; changes nothing.
 */
async function checkEveryHost(ctx: StageContext, step: string): Promise<Map<string, HostDevices>> {
  const sds = ctx.spec.machines.filter((m) => m.services.includes("sds"));
  const verdicts = await Promise.all(
    sds.map(async (m): Promise<[string, HostDevices]> => {
      try {
        const out = (await ctx.run(m.name, step, deviceProbeScript(m.dataDisks), { quiet: true }))
          .stdout;
        const v = judgeDevices(m.name, parseDeviceProbe(out), ctx.spec.wipeDevices?.[m.name]);
        const error = v.refused.length
          ? `[${m.name}] ${step}: ${v.refused.join(". ")}. Nothing was changed on any host.`
          : undefined;
        return [m.name, { error, wipe: v.wipe }];
      } catch (e) {
        return [m.name, { error: (e as Error).message, wipe: [] }];
      }
    }),
  );
  return new Map(verdicts);
}

async function wipeDevices(
  ctx: StageContext,
  host: string,
  step: string,
  devices: DeviceFinding[],
): Promise<void> {
  for (const f of devices) {
    const what = [
      f.ptType && `a ${f.ptType} partition table`,
      f.fsType && `a ${f.fsType} signature`,
    ]
      .filter(Boolean)
      .join(" and ");
    ctx.log(host, step).info(`erasing ${what} on ${f.device} (wipeDevices allows it)`);
    await ctx.run(host, step, wipeCommand(f), { change: true });
  }
  const again = judgeDevices(
    host,
    parseDeviceProbe(
      (
        await ctx.run(host, step, deviceProbeScript(devices.map((f) => f.device)), {
          quiet: true,
        })
      ).stdout,
    ),
  );
  if (again.refused.length > 0)
    throw new Error(`[${host}] ${step}: after wipefs: ${again.refused.join(". ")}`);
}

/**
 * Called first by every host's prepare stage: every SDS host's devices are checked once per
 * run before any host changes anything. Throws this host's refusal, or, when only other hosts'
 * devices are refused, a one-line error naming them, so no host goes on while a device
 * elsewhere is refused. Then erases this host's devices that wipeDevices allows (each host its
 * own, so that a per-host run, as a Pulumi resource is, changes only its host).
 */
export async function checkAllSdsDevices(
  ctx: StageContext,
  host: string,
  step: string,
): Promise<void> {
  const results = await ctx.memo("sds-devices", () => checkEveryHost(ctx, step));
  const mine = results.get(host);
  if (mine?.error) throw new Error(mine.error);
  const refused = [...results.entries()].filter(([, r]) => r.error).map(([h]) => h);
  if (refused.length > 0) {
    throw new Error(
      `[${host}] ${step}: not started: the SDS devices of ${refused.join(", ")} are refused (see ${refused.length > 1 ? "their errors" : "its error"}); nothing was changed on ${host}.`,
    );
  }
  if (mine && mine.wipe.length > 0)
    await ctx.memo(`sds-wipe:${host}`, () => wipeDevices(ctx, host, step, mine.wipe));
}
