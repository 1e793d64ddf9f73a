// End to end on the local stack, through the real Pulumi CLI (no mocks, no harness): the README's
// "Use" block run line by line as written, on a fresh backend (`pulumi login --local` with the
// test's own ~/.pulumi: PulumiStack's "login-local"), on the `local` stack of stacks/Pulumi.local.yaml (restored afterwards), with
// the settings test/e2e/README.md tells a local-stack user to make in between. The CLI starts the
// program through Pulumi's language host and runtime (ts-node, type checking on); `pulumi up`
// previews first. 3 QEMU machines from the test image under software emulation; the installer's
// resources install ScaleIO (the emulator's el7 packages) and Docker over SSH. Checks: host keys, the private network, `3_node Normal`, Docker on each ScaleIO
// volume, the gateway at the gatewayUrl output, a second `up` that changes nothing and opens no
// SSH session, a killed QEMU reported gone by `refresh`, `destroy` and `stack rm` leaving nothing,
// and no secret in clear in the state.
//
// Needs root and: qemu-system-x86 qemu-utils genisoimage debootstrap e2fsprogs rpm createrepo-c,
// Go (scripts/pulumi-cli.sh builds the CLI once; cached in /var/cache/arrowhead-pulumi).
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
import { BUSYBOX_TAR, buildTestImage, IMAGE_OS } from "./image/build";
import { buildEmulatorRpms } from "../emulator/build-rpms";
import { PulumiStack, resourceSummary, type CliResult } from "../support/pulumi-cli";
import { readmeCommands } from "../support/readme";
import { sshExec, Target } from "./ssh-exec";

/** The stack the README's "Use" block selects. */
const STACK = "local";
const OS = process.env.ARROWHEAD_E2E_OS ?? IMAGE_OS;
const MDM_PASSWORD = "E2e-Mdm-Passw0rd";
const GATEWAY_PASSWORD = "E2e-Gw-Passw0rd";
/**
 * The test image's Debian kernel has AppArmor on but the image has no apparmor_parser, so Docker
 * cannot load its default profile there; CentOS 7 (SELinux) has no AppArmor at all, so running
 * unconfined is what a container gets on the real hosts too.
 */
const DOCKER_RUN_OPTS = process.env.ARROWHEAD_E2E_IMAGE ? "" : "--security-opt apparmor=unconfined";
const EMULATOR = { version: "3.6-700.103", dist: "el7" } as const;
/** The busybox image the Docker check imports on every Docker host (no registry here). */
const BUSYBOX_TAG = "arrowhead-e2e/busybox:1";
const stateDir = path.join(os.tmpdir(), "arrowhead-e2e-state");
const pulumiDir = path.join(os.tmpdir(), "arrowhead-e2e-pulumi");
const timings: Record<string, number> = {};
let stack: PulumiStack;
/** stacks/Pulumi.local.yaml as committed, put back after the run. */
let committedStackFile: string | undefined;
/** The README's "Use" commands, and those this run has run so far. */
const README_COMMANDS = readmeCommands("## Use");
const readmeRun = new Set<string>();

/** Runs the README line that starts with `prefix`, as written; throws when it fails. */
async function readme(prefix: string, input?: string): Promise<CliResult> {
  const line = README_COMMANDS.find((l) => l.startsWith(prefix));
  if (!line) throw new Error(`README "Use" block has no line starting "${prefix}"`);
  readmeRun.add(line);
  return stack.must(stack.readme(line, input), line);
}
/** Stack outputs after the first `up`, secrets shown (the generated key is one). */
let outputs: Record<string, unknown>;
let machinesInState: LocalOuts[];

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

/** The local machines as the engine's state records them (`pulumi stack export`). */
async function machinesFromState(): Promise<LocalOuts[]> {
  const r = await stack.must(stack.cli(["stack", "export", "--show-secrets"]), "stack export");
  const resources = (
    JSON.parse(r.stdout) as {
      deployment: { resources?: { type: string; outputs?: Record<string, unknown> }[] };
    }
  ).deployment.resources;
  return (resources ?? [])
    .filter((x) => x.type === "pulumi-nodejs:dynamic:Resource" && x.outputs?.sshPort)
    .map((x) => x.outputs as unknown as LocalOuts)
    .sort((a, b) => a.name.localeCompare(b.name));
}

const machines = () => machinesInState;

/** The machine whose roles (the nodeSummary output) include `role`, e.g. "mdm-master". */
function machineWithRole(role: string): LocalOuts {
  const summary = outputs.nodeSummary as { name: string; roles: string }[];
  const node = summary.find((n) => n.roles.split(", ").includes(role));
  const m = machines().find((x) => x.name === node?.name);
  if (!m) throw new Error(`no machine with role ${role} in ${JSON.stringify(summary)}`);
  return m;
}

/** The stack's generated login key, as the sshKeyHint output tells a user to fetch it. */
const userKey = () => String(outputs.sshPrivateKey);

const target = (m: LocalOuts, user = m.sshUser): Target => ({
  port: m.sshPort,
  user,
  privateKey: userKey(),
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

/** SSH logins each machine's sshd accepted so far (this query's own login included). */
async function logins(): Promise<number[]> {
  return Promise.all(
    machines().map(async (m) => {
      const r = await sshExec(
        target(m, "root"),
        "journalctl --no-pager -o cat _COMM=sshd _COMM=sshd-session | grep -c '^Accepted publickey' || true",
      );
      return Number(r.stdout.trim());
    }),
  );
}

beforeAll(async () => {
  // A run that died earlier must not disturb this one.
  await destroyStack(stateDir, STACK);
  fs.rmSync(pulumiDir, { recursive: true, force: true });
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
  let rpmDir = process.env.ARROWHEAD_E2E_RPMS;
  if (!rpmDir) {
    const t = Date.now();
    rpmDir = path.join(os.tmpdir(), "arrowhead-e2e-rpms");
    fs.rmSync(rpmDir, { recursive: true, force: true });
    await buildEmulatorRpms({ ...EMULATOR, outDir: rpmDir });
    timings.rpmSeconds = Math.round((Date.now() - t) / 1000);
  }
  const t = Date.now();
  // A user's shell answers the passphrase prompt; here PULUMI_CONFIG_PASSPHRASE does.
  stack = new PulumiStack(STACK, pulumiDir, "e2e-passphrase", undefined, "login-local");
  timings.cliSeconds = Math.round((Date.now() - t) / 1000);
  committedStackFile = fs.readFileSync(stack.configFile, "utf8");
  // `npm ci` (the block's first line) ran before this test: running it again would replace the
  // node_modules this very test runs from.
  await readme("pulumi login --local");
  await readme("pulumi stack select");
  // What test/e2e/README.md "Run it" has a local-stack user set: the image, RPMs, sizes.
  const settings: [string, string][] = [
    ["arrowhead:os", OS],
    ["arrowhead:nodeCount", "3"],
    ["arrowhead:rpmDir", rpmDir],
    ["arrowhead:local.baseImage", image],
    ...(kernel ? ([["arrowhead:local.kernel", kernel]] as [string, string][]) : []),
    ...(initrd ? ([["arrowhead:local.initrd", initrd]] as [string, string][]) : []),
    ["arrowhead:local.cpus", process.env.ARROWHEAD_E2E_CPUS ?? "1"],
    ["arrowhead:local.memoryMb", process.env.ARROWHEAD_E2E_MEMORY_MB ?? "1536"],
    ["arrowhead:local.stateDir", stateDir],
    ["arrowhead:local.networkCidr", "10.77.0.0/24"],
    ["arrowhead:local.bootTimeoutSeconds", "900"],
  ];
  for (const [k, v] of settings) {
    await stack.must(stack.cli(["config", "set", "--path", k, v]), `pulumi config set ${k}`);
  }
  // The README's own lines; the value on stdin, as a user typing at the prompt.
  await readme("pulumi config set --secret arrowhead:mdmPassword", MDM_PASSWORD);
  await readme("pulumi config set --secret arrowhead:gatewayPassword", GATEWAY_PASSWORD);
});

afterAll(async () => {
  try {
    // Normally done by the last tests already; here for runs that failed earlier.
    if (fs.existsSync(stack?.configFile ?? "")) {
      await stack.cli(["destroy", "--yes"]);
      await stack.cli(["stack", "rm", "--yes", "--force"]);
    }
  } finally {
    if (stack && committedStackFile !== undefined)
      fs.writeFileSync(stack.configFile, committedStackFile);
    await destroyStack(stateDir, STACK);
    fs.rmSync(stateDir, { recursive: true, force: true });
    fs.rmSync(pulumiDir, { recursive: true, force: true });
    if (!process.env.ARROWHEAD_E2E_RPMS) {
      fs.rmSync(path.join(os.tmpdir(), "arrowhead-e2e-rpms"), { recursive: true, force: true });
    }
    process.stderr.write(`[e2e local] timings ${JSON.stringify(timings)}\n`);
  }
});

describe("local stack", () => {
  it("previews a plan and creates nothing (`pulumi preview`)", async () => {
    const r = await readme("pulumi preview");
    timings.previewSeconds = Math.round(r.seconds);
    expect(resourceSummary(r.stdout).create).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/\+\s+pulumi-nodejs:dynamic\/arrowhead:scaleio:MdmCluster/);
    expect(ourProcesses()).toEqual([]);
    expect(fs.existsSync(path.join(stateDir, STACK))).toBe(false);
  });

  it("creates the machines and installs everything (`pulumi up --yes`)", async () => {
    const r = await readme("pulumi up");
    timings.upSeconds = Math.round(r.seconds);
    // `pulumi up` previewed first, then updated: both parts in its output.
    expect(r.stdout).toMatch(/Previewing update/);
    expect(resourceSummary(r.stdout).create).toBeGreaterThan(10);
    outputs = await stack.outputs(true);
    machinesInState = await machinesFromState();
  });

  it("creates three machines with known host keys and the program's outputs", async () => {
    const ms = machines();
    expect(ms.map((m) => m.name)).toEqual(["node1", "node2", "node3"]);
    for (const m of ms) {
      expect(m.hostKey).toMatch(/^ssh-ed25519 /);
      timings[`boot_${m.name}`] = m.bootSeconds;
    }
    expect(outputs.cloud).toBe("local");
    const cmds = outputs.sshCommands as Record<string, string>;
    const shown = await readme("pulumi stack output sshCommands");
    for (const c of Object.values(cmds)) expect(shown.stdout).toContain(c);
    expect(cmds.node1).toContain(`-p ${ms[0].sshPort} ${ms[0].sshUser}@127.0.0.1`);
    expect(String(outputs.gatewayUrl)).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api$/);
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
    expect(outputs.clusterState).toBe("3_node Normal");
  });

  it("runs Docker on each Docker host with /var/lib/docker on its ScaleIO volume", async () => {
    const rootDirs = outputs.dockerRootDirs as Record<string, string>;
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
      const tag = BUSYBOX_TAG;
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

  it("gives a container a ScaleIO volume that follows it from node1 to node2 (volume plugin)", async () => {
    const [a, b] = [machines()[0], machines()[1]];
    const run = (m: LocalOuts, script: string) =>
      sshExec(
        target(m, "root"),
        `docker run --rm ${DOCKER_RUN_OPTS} -v e2e-data:/data ${BUSYBOX_TAG} sh -c '${script}'`,
        300_000,
      );
    const created = await sshExec(
      target(a, "root"),
      "docker volume create -d scaleio -o size=8 e2e-data && docker volume inspect -f '{{.Driver}} {{json .Status}}' e2e-data",
      300_000,
    );
    expect(created.code, created.stdout + created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^scaleio /m);
    let t = Date.now();
    const write = await run(a, `echo written-on-${a.name} > /data/proof`);
    timings.volumeFirstMountSeconds = Math.round((Date.now() - t) / 1000);
    expect(write.code, write.stdout + write.stderr).toBe(0);
    t = Date.now();
    const read = await run(b, "cat /data/proof");
    timings.volumeMoveSeconds = Math.round((Date.now() - t) / 1000);
    expect(read.code, read.stdout + read.stderr).toBe(0);
    expect(read.stdout.trim()).toBe(`written-on-${a.name}`);
    const rm = await sshExec(target(b, "root"), "docker volume rm e2e-data", 300_000);
    expect(rm.code, rm.stdout + rm.stderr).toBe(0);
  });

  it("serves the REST gateway at the gatewayUrl output, for the cluster that was created", async () => {
    const url = new URL(String(outputs.gatewayUrl));
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
    expect(ids).toEqual([outputs.systemId]);
  });

  it("changes nothing and opens no SSH session on a second `pulumi up`", async () => {
    const before = await logins();
    const r = await stack.must(stack.cli(["up", "--yes"]), "second up");
    timings.noopUpSeconds = Math.round(r.seconds);
    const summary = resourceSummary(r.stdout);
    expect(summary).toEqual({ unchanged: summary.unchanged });
    // Each count includes the counting login itself: one more per host, none from the installer.
    const after = await logins();
    expect(after).toEqual(before.map((n) => n + 1));
  });

  it("holds no password or private key in clear in the state", async () => {
    const r = await stack.must(stack.cli(["stack", "export"]), "stack export");
    const key = userKey().split("\n").slice(1, -2).join("");
    expect(key.length).toBeGreaterThan(100);
    for (const secret of [MDM_PASSWORD, GATEWAY_PASSWORD, key.slice(0, 40), key.slice(-40)]) {
      expect(r.stdout).not.toContain(secret);
    }
    const file = fs.readFileSync(stack.configFile, "utf8");
    expect(file).not.toContain(MDM_PASSWORD);
    expect(file).not.toContain(GATEWAY_PASSWORD);
  });

  it("reports a machine whose QEMU died as gone (`pulumi refresh --yes`)", async () => {
    const victim = machines()[2];
    process.kill(victim.pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    const r = await stack.must(stack.cli(["refresh", "--yes"]), "pulumi refresh");
    timings.refreshSeconds = Math.round(r.seconds);
    expect(resourceSummary(r.stdout).delete).toBe(1);
    const left = await machinesFromState();
    expect(left.map((m) => m.name)).toEqual(
      machines()
        .filter((m) => m !== victim)
        .map((m) => m.name),
    );
  });

  it("tears down to nothing (`pulumi destroy --yes`, `pulumi stack rm`)", async () => {
    const r = await readme("pulumi destroy");
    timings.downSeconds = Math.round(r.seconds);
    expect(ourProcesses()).toEqual([]);
    expect(fs.existsSync(path.join(stateDir, STACK))).toBe(false);
    expect(await machinesFromState()).toEqual([]);
    await stack.must(stack.cli(["stack", "rm", "--yes"]), "pulumi stack rm");
    expect(fs.existsSync(stack.configFile)).toBe(false);
    // Every line of the README's "Use" block ran, as written (npm ci before the test).
    expect(README_COMMANDS.filter((l) => l !== "npm ci" && !readmeRun.has(l))).toEqual([]);
    const ls = await stack.must(stack.cliNoStack(["stack", "ls", "--json"]), "pulumi stack ls");
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });
});
