// The pure parts of the local QEMU driver: accelerator choice, QEMU argv, cloud-init seed,
// host keys, port allocation, and the machine diff.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { utils } from "ssh2";
import { describe, expect, it } from "vitest";
import { diffMachine, localArgsFromSpec } from "../../src/providers/local";
import type { Spec } from "../../src/config";
import { accelArgs, chooseAccel, probeBootSector } from "../../src/providers/local/accel";
import { generateHostKey } from "../../src/ssh-keygen";
import { allocatePort, releasePort, tryBind } from "../../src/providers/local/ports";
import { dataDiskDevices, macsFor, qemuArgs, QemuSpec } from "../../src/providers/local/qemu";
import { serialTail } from "../../src/providers/local/index";
import {
  findIsoTool,
  metaData,
  networkConfig,
  SeedSpec,
  userData,
} from "../../src/providers/local/seed";

describe("chooseAccel", () => {
  const facts = (kvmUsable: boolean, kvmIsPvm: boolean, boots: boolean) => {
    let probed = 0;
    return {
      facts: { kvmUsable, kvmIsPvm, kvmBoots: () => (probed++, boots) },
      probes: () => probed,
    };
  };
  it("uses KVM when /dev/kvm opens and a probe guest boots", () => {
    const f = facts(true, false, true);
    expect(chooseAccel("auto", f.facts).accel).toBe("kvm");
    expect(f.probes()).toBe(1);
  });
  it("falls back to TCG, saying why and how slow", () => {
    const none = chooseAccel("auto", facts(false, false, false).facts);
    expect(none).toMatchObject({ accel: "tcg" });
    expect(none.reason).toMatch(/absent or not writable.*5-18x slower/);
    const pvm = facts(true, true, true);
    expect(chooseAccel("auto", pvm.facts).reason).toMatch(/kvm_pvm/);
    expect(pvm.probes()).toBe(0);
    expect(chooseAccel("auto", facts(true, false, false).facts).reason).toMatch(/did not boot/);
  });
  it("honours a forced setting and explains an impossible one", () => {
    const f = facts(true, false, true);
    expect(chooseAccel("tcg", f.facts).accel).toBe("tcg");
    expect(f.probes()).toBe(0);
    expect(() => chooseAccel("kvm", facts(false, false, false).facts)).toThrow(/kvm.*group/);
  });
  it("maps accelerators to QEMU flags", () => {
    expect(accelArgs("tcg")).toEqual(["-accel", "tcg,thread=multi", "-cpu", "max"]);
    expect(accelArgs("kvm")).toEqual(["-accel", "kvm", "-cpu", "host"]);
  });
  it("has a valid probe boot sector", () => {
    const s = probeBootSector();
    expect(s.length).toBe(512);
    expect([s[510], s[511]]).toEqual([0x55, 0xaa]);
    expect(s.subarray(0, 3)).toEqual(Buffer.from([0xba, 0xf8, 0x03])); // mov dx, 0x3f8 (COM1)
  });
});

const spec: QemuSpec = {
  name: "node1",
  accel: "tcg",
  cpus: 2,
  memoryMb: 3072,
  rootDisk: "/s/node1/root.qcow2",
  dataDisks: [
    { path: "/s/node1/disk-1.qcow2", format: "qcow2" },
    { path: "/s/node1/disk-2.raw", format: "raw" },
  ],
  seedIso: "/s/node1/seed.iso",
  sshPort: 40022,
  gatewayPort: 40443,
  publicMac: "52:54:00:aa:bb:cc",
  privateMac: "52:54:01:aa:bb:cc",
  privatePort: 45000,
  hubPort: 45999,
  serialLog: "/s/node1/serial.log",
  pidFile: "/s/node1/qemu.pid",
  qmpSocket: "/s/node1/qmp.sock",
};

/** The value following each occurrence of `flag`. */
const values = (args: string[], flag: string) =>
  args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

describe("qemuArgs", () => {
  it("orders disks root, data..., with the seed on IDE", () => {
    const drives = values(qemuArgs(spec), "-drive");
    expect(drives).toEqual([
      "file=/s/node1/root.qcow2,if=virtio,format=qcow2,discard=unmap",
      "file=/s/node1/disk-1.qcow2,if=virtio,format=qcow2",
      "file=/s/node1/disk-2.raw,if=virtio,format=raw",
      "file=/s/node1/seed.iso,if=ide,media=cdrom,format=raw,readonly=on",
    ]);
  });
  it("forwards SSH and the gateway on loopback only, and the private NIC goes to the hub", () => {
    const args = qemuArgs(spec);
    const nets = values(args, "-netdev");
    expect(nets[0]).toBe(
      "user,id=pub,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40443-:443",
    );
    expect(nets[1]).toBe(
      "dgram,id=priv,local.type=inet,local.host=127.0.0.1,local.port=45000," +
        "remote.type=inet,remote.host=127.0.0.1,remote.port=45999",
    );
    expect(values(args, "-device")).toEqual([
      "virtio-net-pci,netdev=pub,mac=52:54:00:aa:bb:cc",
      "virtio-net-pci,netdev=priv,mac=52:54:01:aa:bb:cc",
    ]);
    expect(nets.join(" ")).not.toMatch(/mcast|tap|bridge/);
    expect(qemuArgs({ ...spec, gatewayPort: undefined }).join(" ")).not.toContain("-:443");
  });
  it("sets CPU, memory, accelerator, daemon files, and direct kernel boot when asked", () => {
    const args = qemuArgs(spec);
    expect(values(args, "-smp")).toEqual(["2"]);
    expect(values(args, "-m")).toEqual(["3072"]);
    expect(values(args, "-accel")).toEqual(["tcg,thread=multi"]);
    expect(values(args, "-pidfile")).toEqual(["/s/node1/qemu.pid"]);
    expect(args).toContain("-daemonize");
    expect(values(args, "-chardev")[0]).toContain("path=/s/node1/serial.log,append=on");
    expect(args).not.toContain("-kernel");
    const direct = qemuArgs({
      ...spec,
      kernel: "/k",
      initrd: "/i",
      kernelCmdline: "root=/dev/vda1",
    });
    expect(values(direct, "-kernel")).toEqual(["/k"]);
    expect(values(direct, "-initrd")).toEqual(["/i"]);
    expect(values(direct, "-append")).toEqual(["root=/dev/vda1"]);
  });
  it("refuses paths QEMU would split at a comma", () => {
    expect(() => qemuArgs({ ...spec, rootDisk: "/a,b/root.qcow2" })).toThrow(/comma/);
  });
  it("derives stable, distinct, locally administered MACs", () => {
    const a = macsFor("dev", "node1");
    expect(a).toEqual(macsFor("dev", "node1"));
    expect(a.publicMac).not.toBe(macsFor("dev", "node2").publicMac);
    expect(a.publicMac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(a.privateMac.slice(9)).toBe(a.publicMac.slice(9));
  });
  it("names data disks vdb, vdc...", () => {
    expect(dataDiskDevices(3)).toEqual(["/dev/vdb", "/dev/vdc", "/dev/vdd"]);
    expect(dataDiskDevices(0)).toEqual([]);
    expect(() => dataDiskDevices(26)).toThrow(/at most 25/);
  });
});

describe("cloud-init seed", () => {
  const key = generateHostKey("node1@test");
  const seed: SeedSpec = {
    hostname: "node1",
    instanceId: "arrowhead-dev-node1-1",
    user: "centos",
    sshPublicKey: "ssh-ed25519 AAAAuserkey me@laptop",
    hostKeyPublic: key.publicKey,
    hostKeyPrivate: key.privateKey,
    publicMac: "52:54:00:aa:bb:cc",
    privateMac: "52:54:01:aa:bb:cc",
    privateCidr: "10.77.0.11/24",
    prepareScript: "#!/bin/bash\nhostnamectl set-hostname node1\n",
  };
  it("user-data: our host key only, the login user with sudo, root with the same key", () => {
    const text = userData(seed);
    expect(text.startsWith("#cloud-config\n")).toBe(true);
    const doc = JSON.parse(text.slice("#cloud-config\n".length));
    expect(doc.hostname).toBe("node1");
    expect(doc.disable_root).toBe(false);
    expect(doc.ssh_authorized_keys).toEqual([seed.sshPublicKey]);
    expect(doc.users).toEqual([
      expect.objectContaining({
        name: "centos",
        sudo: "ALL=(ALL) NOPASSWD:ALL",
        ssh_authorized_keys: [seed.sshPublicKey],
      }),
    ]);
    expect(doc.ssh_genkeytypes).toEqual([]);
    expect(doc.ssh_deletekeys).toBe(true);
    expect(doc.ssh_keys.ed25519_public).toBe(key.publicKey);
    expect(doc.ssh_keys.ed25519_private).toBe(key.privateKey);
    expect(doc.write_files[0].content).toBe(seed.prepareScript);
    expect(doc.runcmd).toEqual([["/bin/bash", "/var/lib/arrowhead/prepare.sh"]]);
  });
  it("meta-data names the instance and host", () => {
    expect(JSON.parse(metaData(seed))).toEqual({
      "instance-id": "arrowhead-dev-node1-1",
      "local-hostname": "node1",
    });
  });
  it("network-config v2: DHCP on the forwarded NIC, static address on the private one", () => {
    expect(JSON.parse(networkConfig(seed))).toEqual({
      version: 2,
      ethernets: {
        eth0: { match: { macaddress: "52:54:00:aa:bb:cc" }, "set-name": "eth0", dhcp4: true },
        eth1: {
          match: { macaddress: "52:54:01:aa:bb:cc" },
          "set-name": "eth1",
          dhcp4: false,
          addresses: ["10.77.0.11/24"],
        },
      },
    });
  });
  it("picks genisoimage, else xorriso, else names the package", () => {
    expect(findIsoTool((c) => c === "genisoimage").cmd).toBe("genisoimage");
    expect(findIsoTool((c) => c === "xorriso")).toEqual({
      cmd: "xorriso",
      prefix: ["-as", "mkisofs"],
    });
    expect(() => findIsoTool(() => false)).toThrow(/apt-get install genisoimage/);
  });
});

describe("host keys", () => {
  it("writes an OpenSSH private key whose public half is the one reported", () => {
    const key = generateHostKey("node1@arrowhead");
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/=]+$/);
    expect(key.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    const parsed = utils.parseKey(key.privateKey);
    if (parsed instanceof Error) throw parsed;
    const k = Array.isArray(parsed) ? parsed[0] : parsed;
    expect(k.type).toBe("ssh-ed25519");
    expect(`ssh-ed25519 ${k.getPublicSSH().toString("base64")}`).toBe(key.publicKey);
    // And it signs like the real thing: verify with the public half.
    const data = Buffer.from("challenge");
    expect(k.verify(data, k.sign(data) as Buffer)).toBe(true);
    expect(generateHostKey("x").publicKey).not.toBe(key.publicKey);
  });
});

describe("ports", () => {
  it("never hands out the same port twice while promised, and skips refused binds", async () => {
    const offered = [0, 5000, 5000, 5001];
    const bind = async () => {
      const p = offered.shift();
      return p === 0 ? undefined : p;
    };
    const a = await allocatePort("tcp", bind);
    const b = await allocatePort("tcp", bind);
    expect([a, b]).toEqual([5000, 5001]);
    releasePort("tcp", 5000);
    releasePort("tcp", 5001);
    await expect(allocatePort("udp", async () => undefined, 3)).rejects.toThrow(/free UDP port/);
  });
  it("bind-tests real loopback ports", async () => {
    const tcp = await allocatePort("tcp");
    expect(await tryBind("tcp", tcp)).toBe(tcp);
    const udp = await allocatePort("udp");
    expect(udp).toBeGreaterThan(0);
    releasePort("tcp", tcp);
    releasePort("udp", udp);
  });
});

describe("diffMachine", () => {
  const base = {
    name: "node1",
    cpus: 2,
    memoryMb: 2048,
    baseImage: "/a.qcow2",
    bootTimeoutSec: 600,
  };
  it("replaces on image, CPU and memory changes, deleting first", () => {
    expect(diffMachine(base, { ...base, cpus: 4 })).toEqual({
      changes: true,
      replaces: ["cpus"],
      deleteBeforeReplace: true,
    });
    expect(diffMachine(base, { ...base, baseImage: "/b.qcow2", memoryMb: 4096 }).replaces).toEqual([
      "memoryMb",
      "baseImage",
    ]);
  });
  it("updates in place for boot timeout, and ignores outputs", () => {
    expect(diffMachine(base, { ...base, bootTimeoutSec: 900 })).toMatchObject({
      changes: true,
      replaces: [],
    });
    expect(diffMachine({ ...base, sshPort: 4000 } as typeof base, base).changes).toBe(false);
  });
  it("sees no change between a machine's state and the same inputs (the engine's no-op up)", () => {
    // What the engine passes: the old outputs (inputs + the driver's state) against new inputs.
    const inputs = { ...base, accel: "auto" as const };
    const state = { pid: 42, sshPort: 40022, accelUsed: "tcg", bootSeconds: 30 };
    expect(diffMachine({ ...inputs, ...state }, inputs).changes).toBe(false);
  });
});

describe("serialTail", () => {
  it("quotes the last lines without terminal escapes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ah-serial-"));
    const file = path.join(dir, "serial.log");
    fs.writeFileSync(file, "a\r\n\x1b[0;32mOK\x1b[0m b\r\n\n" + "x\n".repeat(40) + "last\n");
    const tail = serialTail(file, 3);
    expect(tail).toBe("x\nx\nlast");
    expect(serialTail(file, 100)).toContain("OK b");
    expect(serialTail(path.join(dir, "none"))).toBe("(no serial output)");
    fs.rmSync(dir, { recursive: true });
  });
});

describe("localArgsFromSpec", () => {
  it("maps the typed stack config to the provider's arguments", () => {
    const spec = {
      stack: "dev",
      os: "centos7",
      sdsDisks: { count: 2, sizeGb: 100 },
      centos7VaultUrl: "https://vault.example/centos/7.9.2009",
      local: {
        baseImage: "~/CentOS-7-x86_64-GenericCloud.qcow2",
        cpus: 2,
        memoryMb: 4096,
        networkCidr: "10.77.0.0/24",
        bootTimeoutSeconds: 600,
      },
    } as unknown as Spec;
    const nodes = [{ name: "node1", services: [] }];
    const args = localArgsFromSpec({ spec, nodes, sshPublicKey: "ssh-ed25519 AAAA" });
    expect(args).toMatchObject({
      stack: "dev",
      os: "centos7",
      baseImage: "~/CentOS-7-x86_64-GenericCloud.qcow2",
      cpus: 2,
      memoryMb: 4096,
      dataDisks: { count: 2, sizeGb: 100 },
      networkCidr: "10.77.0.0/24",
      bootTimeoutSec: 600,
      centos7VaultUrl: "https://vault.example/centos/7.9.2009",
      nodes,
    });
    expect(() =>
      localArgsFromSpec({
        spec: { ...spec, local: undefined } as unknown as Spec,
        nodes,
        sshPublicKey: "",
      }),
    ).toThrow(/no local section/);
  });
});
