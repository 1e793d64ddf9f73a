// End to end on the local stack: the real program (src/index.ts) creates 3 QEMU machines from the
// test image (software emulation here) and the real installer resources install ScaleIO (the
// emulator's el7 packages) and Docker on them over SSH. Then: each machine is reached with its
// host key verified, the private network connects them, `scli --query_cluster` says 3_node
// Normal, each Docker host runs a container whose data lands on its ScaleIO volume mounted at
// /var/lib/docker, the gateway answers at the gatewayUrl output, a dead machine is seen as gone,
// and teardown leaves nothing.
//
// Needs root and: qemu-system-x86 qemu-utils genisoimage debootstrap e2fsprogs rpm createrepo-c.
// Env (all optional): ARROWHEAD_E2E_IMAGE/_KERNEL/_INITRD use a given image instead of building
// the test image (e.g. a real CentOS 7 GenericCloud qcow2 with no kernel); ARROWHEAD_E2E_OS its
// os (default centos7, what the test image claims to be); ARROWHEAD_E2E_CPUS,
// ARROWHEAD_E2E_MEMORY_MB size the guests; ARROWHEAD_E2E_RPMS names a directory of real ScaleIO
// RPMs matching that os (default: the emulator's 3.6-700.103 el7 packages).
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyStack } from "../../src/providers/local/index";
import { generateHostKey } from "../../src/ssh-keygen";
import { runProgram, HarnessRun } from "./harness";
import { BUSYBOX_TAR, buildTestImage, IMAGE_OS } from "./image/build";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import { sshExec, Target } from "./ssh-exec";

const STACK = "e2e";
const OS = process.env.ARROWHEAD_E2E_OS ?? IMAGE_OS;
const MDM_PASSWORD = "E2e-Mdm-Passw0rd";
/**
 * The test image's Debian kernel has AppArmor on but the image has no apparmor_parser, so Docker
 * cannot load its default profile there; CentOS 7 (SELinux) has no AppArmor at all, so running
 * unconfined is what a container gets on the real hosts too.
 */
const DOCKER_RUN_OPTS = process.env.ARROWHEAD_E2E_IMAGE ? "" : "--security-opt apparmor=unconfined";
const EMULATOR = { version: "3.6-700.103", dist: "el7" } as const;
const stateDir = path.join(os.tmpdir(), "arrowhead-e2e-state");
const userKey = generateHostKey("arrowhead-e2e");
const timings: Record<string, number> = {};
let run: HarnessRun | undefined;

interface LocalOuts {
  name: string;
  sshPort: number;
  sshUser: string;
  hostKey: string;
  privateAddress: string;
  pid: number;
  dir: string;
  bootSeconds: number;
}

function machines(): LocalOuts[] {
  return (
    run!.created
      // The local provider's machines (the installer's steps have a hostKey output too).
      .filter((c) => c.name.startsWith("local-") && "sshPort" in c.outs)
      .map((c) => c.outs as unknown as LocalOuts)
      .sort((a, b) => a.name.localeCompare(b.name))
  );
}

/** The machine whose roles (the nodeSummary output) include `role`, e.g. "mdm-master". */
function machineWithRole(role: string): LocalOuts {
  const summary = run!.outputs.nodeSummary as { name: string; roles: string }[];
  const node = summary.find((n) => n.roles.split(", ").includes(role));
  const m = machines().find((x) => x.name === node?.name);
  if (!m) throw new Error(`no machine with role ${role} in ${JSON.stringify(summary)}`);
  return m;
}

const target = (m: LocalOuts, user = m.sshUser): Target => ({
  port: m.sshPort,
  user,
  privateKey: userKey.privateKey,
  hostKey: m.hostKey,
});

/** Processes whose command line mentions our state directory (QEMU and the hub). */
function ourProcesses(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(stateDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

beforeAll(async () => {
  // A run that died earlier must not disturb this one.
  await destroyStack(stateDir, STACK);
  let image = process.env.ARROWHEAD_E2E_IMAGE;
  let kernel = process.env.ARROWHEAD_E2E_KERNEL;
  let initrd = process.env.ARROWHEAD_E2E_INITRD;
  if (!image) {
    const t = Date.now();
    const built = await buildTestImage();
    timings.imageCached = built.cached ? 1 : 0;
    timings.imageSeconds = built.cached ? 0 : Math.round((Date.now() - t) / 1000);
    ({ image, kernel, initrd } = built);
  }
  const local = {
    baseImage: image,
    ...(kernel ? { kernel, initrd } : {}),
    cpus: Number(process.env.ARROWHEAD_E2E_CPUS ?? 1),
    memoryMb: Number(process.env.ARROWHEAD_E2E_MEMORY_MB ?? 1536),
    stateDir,
    networkCidr: "10.77.0.0/24",
    bootTimeoutSeconds: 900,
  };
  let rpmDir = process.env.ARROWHEAD_E2E_RPMS;
  if (!rpmDir) {
    const t = Date.now();
    rpmDir = path.join(os.tmpdir(), "arrowhead-e2e-rpms");
    fs.rmSync(rpmDir, { recursive: true, force: true });
    await buildEmulatorRpms({ ...EMULATOR, outDir: rpmDir });
    timings.rpmSeconds = Math.round((Date.now() - t) / 1000);
  }
  const t = Date.now();
  run = await runProgram({
    // Every dynamic resource runs for real: the local machines and the installer's steps.
    program: path.resolve(__dirname, "../../src/index.ts"),
    project: "arrowhead",
    stack: STACK,
    config: {
      "arrowhead:cloud": "local",
      "arrowhead:os": OS,
      "arrowhead:nodeCount": "3",
      "arrowhead:sdsDisks": JSON.stringify({ count: 1, sizeGb: 100 }),
      "arrowhead:rpmDir": rpmDir,
      "arrowhead:local": JSON.stringify(local),
      "arrowhead:sshPublicKey": userKey.publicKey,
      "arrowhead:sshPrivateKey": userKey.privateKey,
      "arrowhead:mdmPassword": MDM_PASSWORD,
      "arrowhead:gatewayPassword": "E2e-Gw-Passw0rd",
    },
    secretKeys: ["arrowhead:sshPrivateKey", "arrowhead:mdmPassword", "arrowhead:gatewayPassword"],
  });
  timings.upSeconds = Math.round((Date.now() - t) / 1000);
  for (const c of run.created) timings[`create_${c.name}`] = c.seconds;
});

afterAll(async () => {
  try {
    // Normally done by the last test already; here for runs that failed earlier.
    await run?.teardown();
  } finally {
    await destroyStack(stateDir, STACK);
    fs.rmSync(stateDir, { recursive: true, force: true });
    if (!process.env.ARROWHEAD_E2E_RPMS) {
      fs.rmSync(path.join(os.tmpdir(), "arrowhead-e2e-rpms"), { recursive: true, force: true });
    }
    process.stderr.write(`[e2e local] timings ${JSON.stringify(timings)}\n`);
  }
});

describe("local stack", () => {
  it("creates three machines with known host keys and the program's outputs", () => {
    const ms = machines();
    expect(ms.map((m) => m.name)).toEqual(["node1", "node2", "node3"]);
    for (const m of ms) {
      expect(m.hostKey).toMatch(/^ssh-ed25519 /);
      timings[`boot_${m.name}`] = m.bootSeconds;
    }
    expect(run!.outputs.cloud).toBe("local");
    const cmds = run!.outputs.sshCommands as Record<string, string>;
    expect(cmds.node1).toContain(`-p ${ms[0].sshPort} ${ms[0].sshUser}@127.0.0.1`);
    expect(String(run!.outputs.gatewayUrl)).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api$/);
  });

  it("logs in as the image user and as root, with the host key verified", async () => {
    for (const m of machines()) {
      // What the installer does first too: let cloud-init finish its first boot.
      const ci = await sshExec(target(m), "cloud-init status --wait", 600_000);
      expect(ci.stdout).toMatch(/status: (done|error)/);
      const r = await sshExec(target(m), "hostname && sudo -n id -u");
      expect(r.code).toBe(0);
      expect(r.stdout.split("\n").slice(0, 2)).toEqual([m.name, "0"]);
      const root = await sshExec(target(m, "root"), "id -un");
      expect(root.stdout.trim()).toBe("root");
    }
  });

  it("refuses a machine that presents another host key", async () => {
    const [a, b] = machines();
    await expect(sshExec({ ...target(a), hostKey: b.hostKey }, "true")).rejects.toThrow(
      /host key verified: no/,
    );
  });

  it("has the SDS data disk as /dev/vdb and the private network between the machines", async () => {
    const ms = machines();
    for (const m of ms) {
      const disk = await sshExec(target(m), "lsblk -dbn -o SIZE /dev/vdb");
      expect(Number(disk.stdout.trim())).toBe(100 * 1024 ** 3);
      const addr = await sshExec(target(m), "ip -4 -o addr show dev eth1");
      expect(addr.stdout).toContain(`inet ${m.privateAddress}/24`);
      for (const peer of ms.filter((p) => p !== m)) {
        // Real images have ping; the test image has busybox's.
        const ip = peer.privateAddress;
        const ping = await sshExec(
          target(m),
          `if command -v ping >/dev/null; then sudo -n ping -c 2 -W 5 ${ip}; ` +
            `else sudo -n busybox ping -c 2 -W 5 ${ip}; fi`,
        );
        expect(ping.code, `${m.name} -> ${peer.name}: ${ping.stdout}${ping.stderr}`).toBe(0);
      }
    }
    // The private network is not on the host: no host interface carries its addresses.
    const hostAddrs = fs.readFileSync("/proc/net/fib_trie", "utf8");
    expect(hostAddrs).not.toContain("10.77.0.");
  });

  it("installed a 3_node ScaleIO cluster in state Normal", async () => {
    const master = machineWithRole("mdm-master");
    // Both managers' addresses: under TCG the MDMs can miss heartbeats and fail over, and the
    // configured master may then be the slave (the installer handles that; so must this check).
    const managers = ["mdm-master", "mdm-slave"].map((r) => machineWithRole(r).privateAddress);
    const mdm = `--mdm_ip ${managers.join(",")}`;
    // As root (the installer's scli sessions belong to the user that ran them); the password
    // travels on stdin, never on a command line.
    const q = await sshExec(
      target(master, "root"),
      `scli --login --username admin --approve_certificate ${mdm} >/dev/null && scli --query_cluster ${mdm}`,
      120_000,
      `${MDM_PASSWORD}\n`,
    );
    expect(q.code, q.stdout + q.stderr).toBe(0);
    expect(q.stdout).toMatch(/Mode: 3_node, State: Normal/);
    expect(run!.outputs.clusterState).toBe("3_node Normal");
  });

  it("runs Docker on each Docker host with /var/lib/docker on its ScaleIO volume", async () => {
    const rootDirs = run!.outputs.dockerRootDirs as Record<string, string>;
    const dockerHosts = machines().filter((m) => m.name in rootDirs);
    expect(dockerHosts.length).toBeGreaterThan(0);
    for (const m of dockerHosts) {
      expect(rootDirs[m.name]).toBe("/var/lib/docker");
      const root = target(m, "root");
      // The mount's device is the ScaleIO volume: the by-id link and /dev/scini* are the same
      // block device (compared by major:minor; the emulator's scini node is its loop device).
      const mnt = await sshExec(
        root,
        "findmnt -n -o MAJ:MIN --mountpoint /var/lib/docker && " +
          "stat -L -c '%Hr:%Lr %n' /dev/disk/by-id/emc-vol-* /dev/scini*",
      );
      expect(mnt.code, mnt.stdout + mnt.stderr).toBe(0);
      const [mounted, ...devs] = mnt.stdout.trim().split("\n");
      const devOf = (re: RegExp) => devs.find((d) => re.test(d))?.split(" ")[0];
      expect(mounted.trim()).toMatch(/^\d+:\d+$/);
      expect(devOf(/ \/dev\/disk\/by-id\/emc-vol-/), mnt.stdout).toBe(mounted.trim());
      expect(devOf(/ \/dev\/scini[a-z]+$/), mnt.stdout).toBe(mounted.trim());
      const info = await sshExec(root, "docker info -f '{{.DockerRootDir}}'");
      expect(info.stdout.trim()).toBe("/var/lib/docker");
      // An image without a registry, then a container writing a file: its writable layer must
      // be on the ScaleIO volume.
      const tag = "arrowhead-e2e/busybox:1";
      const imp = await sshExec(root, `docker import ${BUSYBOX_TAR} ${tag}`, 300_000);
      expect(imp.code, imp.stderr).toBe(0);
      const runC = await sshExec(
        root,
        `docker rm -f e2e-writer >/dev/null 2>&1; ` +
          `docker run --name e2e-writer ${DOCKER_RUN_OPTS} ${tag} sh -c 'echo written-on-${m.name} > /proof' && ` +
          `upper=$(docker inspect -f '{{.GraphDriver.Data.UpperDir}}' e2e-writer) && ` +
          `cat "$upper/proof" && findmnt -n -o MAJ:MIN --target "$upper"`,
        300_000,
      );
      expect(runC.code, runC.stdout + runC.stderr).toBe(0);
      const [content, upperDev] = runC.stdout.trim().split("\n");
      expect(content).toBe(`written-on-${m.name}`);
      expect(upperDev.trim()).toBe(mounted.trim());
      await sshExec(root, "docker rm -f e2e-writer");
    }
  });

  it("serves the REST gateway at the gatewayUrl output, for the cluster that was created", async () => {
    const url = new URL(String(run!.outputs.gatewayUrl));
    const gwNode = machineWithRole("gateway");
    // The gateway's self-signed certificate, fetched over the verified SSH connection.
    const cert = await sshExec(
      target(gwNode, "root"),
      "cat /opt/emc/scaleio/gateway/conf/certificates/gateway.crt",
    );
    expect(cert.code, cert.stderr).toBe(0);
    const get = (p: string, auth: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.get(
          {
            host: url.hostname,
            port: url.port,
            path: p,
            headers: { authorization: `Basic ${Buffer.from(auth).toString("base64")}` },
            ca: cert.stdout,
            // Pinned by the certificate itself; its name is the node's, not 127.0.0.1.
            checkServerIdentity: () => undefined,
            timeout: 60_000,
          },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => (body += d.toString()));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
      });
    const login = await get("/api/login", `admin:${MDM_PASSWORD}`);
    expect(login.status, login.body).toBe(200);
    const token = JSON.parse(login.body) as string;
    const systems = await get("/api/types/System/instances", `admin:${token}`);
    expect(systems.status, systems.body).toBe(200);
    const ids = (JSON.parse(systems.body) as { id: string }[]).map((x) => x.id);
    expect(ids).toEqual([run!.outputs.systemId]);
  });

  it("reports a machine whose QEMU died as gone (pulumi refresh)", async () => {
    const victim = machines()[2];
    process.kill(victim.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    const states = await run!.refresh();
    expect(states.find((s) => s.name.endsWith(victim.name))?.exists).toBe(false);
    expect(states.filter((s) => s.exists)).toHaveLength(3); // hub + 2 machines
  });

  it("tears down to nothing: no QEMU, no hub, no state directory", async () => {
    const t = Date.now();
    await run!.teardown();
    timings.downSeconds = Math.round((Date.now() - t) / 1000);
    expect(ourProcesses()).toEqual([]);
    expect(fs.existsSync(path.join(stateDir, STACK))).toBe(false);
  });
});
