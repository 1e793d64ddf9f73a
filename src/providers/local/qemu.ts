// The QEMU command line for one machine: pure, so every flag is unit-tested.
import { createHash } from "node:crypto";
import { Accel, accelArgs } from "./accel";

export interface QemuSpec {
  name: string;
  accel: Accel;
  cpus: number;
  memoryMb: number;
  /** Copy-on-write overlay of the base image: the root disk, /dev/vda. */
  rootDisk: string;
  /** SDS data disks in order: /dev/vdb, /dev/vdc... */
  dataDisks: { path: string; format: "qcow2" | "raw" }[];
  seedIso: string;
  /** Optional direct kernel boot (images without a bootloader). */
  kernel?: string;
  initrd?: string;
  kernelCmdline?: string;
  sshPort: number;
  /** Forward 127.0.0.1:<port> to the guest's 443 (the gateway node). */
  gatewayPort?: number;
  publicMac: string;
  privateMac: string;
  /** Our UDP port and the hub's, both on 127.0.0.1. */
  privatePort: number;
  hubPort: number;
  serialLog: string;
  pidFile: string;
  qmpSocket: string;
}

/** Stable, locally administered MACs derived from the stack and machine name. */
export function macsFor(stack: string, name: string): { publicMac: string; privateMac: string } {
  const h = createHash("sha256").update(`${stack}/${name}`).digest();
  const tail = [h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0")).join(":");
  // 0x52 has the locally-administered bit set and the multicast bit clear.
  return { publicMac: `52:54:00:${tail}`, privateMac: `52:54:01:${tail}` };
}

/** Guest device names of the data disks: vdb, vdc... (vda is the root disk). */
export function dataDiskDevices(count: number): string[] {
  if (count > 25)
    throw new Error(`local.dataDisks.count is ${count}: at most 25 disks fit vdb..vdz`);
  return Array.from({ length: count }, (_, i) => `/dev/vd${String.fromCharCode(98 + i)}`);
}

function checkOption(what: string, value: string): string {
  // QEMU's option parser splits on commas (a doubled comma escapes one); refuse rather than guess.
  if (value.includes(",")) {
    throw new Error(
      `${what} '${value}' contains a comma, which QEMU options cannot carry: rename it`,
    );
  }
  return value;
}

export function qemuArgs(s: QemuSpec): string[] {
  const fwd = [`hostfwd=tcp:127.0.0.1:${s.sshPort}-:22`];
  if (s.gatewayPort !== undefined) fwd.push(`hostfwd=tcp:127.0.0.1:${s.gatewayPort}-:443`);
  const args = [
    "-name",
    checkOption("machine name", s.name),
    "-machine",
    "pc",
    ...accelArgs(s.accel),
    "-smp",
    String(s.cpus),
    "-m",
    String(s.memoryMb),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-chardev",
    `file,id=serial0,path=${checkOption("serial log path", s.serialLog)},append=on`,
    "-serial",
    "chardev:serial0",
    "-qmp",
    `unix:${checkOption("QMP socket path", s.qmpSocket)},server=on,wait=off`,
    "-pidfile",
    checkOption("pid file path", s.pidFile),
    "-daemonize",
    // Root disk first, then data disks: virtio-blk devices are named in PCI order (vda, vdb...).
    "-drive",
    `file=${checkOption("root disk path", s.rootDisk)},if=virtio,format=qcow2,discard=unmap`,
  ];
  for (const d of s.dataDisks) {
    args.push(
      "-drive",
      `file=${checkOption("data disk path", d.path)},if=virtio,format=${d.format}`,
    );
  }
  // The seed on IDE, so it never takes a virtio name ahead of the data disks.
  args.push(
    "-drive",
    `file=${checkOption("seed path", s.seedIso)},if=ide,media=cdrom,format=raw,readonly=on`,
    // User-mode NIC: only the forwarded ports reach the guest; restrict=on keeps it off every
    // other network, the host's included.
    "-netdev",
    `user,id=pub,restrict=on,${fwd.join(",")}`,
    "-device",
    `virtio-net-pci,netdev=pub,mac=${s.publicMac}`,
    // Private NIC: Ethernet frames as UDP datagrams to the stack's hub on loopback. No address
    // of this network exists on the host.
    "-netdev",
    `dgram,id=priv,local.type=inet,local.host=127.0.0.1,local.port=${s.privatePort},` +
      `remote.type=inet,remote.host=127.0.0.1,remote.port=${s.hubPort}`,
    "-device",
    `virtio-net-pci,netdev=priv,mac=${s.privateMac}`,
  );
  if (s.kernel) {
    args.push("-kernel", s.kernel);
    if (s.initrd) args.push("-initrd", s.initrd);
    if (s.kernelCmdline) args.push("-append", s.kernelCmdline);
  }
  return args;
}
