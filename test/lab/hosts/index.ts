// The lab: N Linux hosts (systemd-nspawn containers with real systemd and sshd) on a private
// network inside a network namespace of their own, reachable from here through loopback
// ports, with raw data disks, a yum repository, and everything removed by `down()`.
import * as fs from "node:fs";
import * as path from "node:path";
import { BUSYBOX_TAR_IN_HOST, ensureBusyboxTar } from "./busybox";
import {
  boot,
  layoutOf,
  mountOverlay,
  personalize,
  shutdownSync,
  waitForInit,
  writeHostsFile,
} from "./container";
import { createMachineCgroups } from "./cgroups";
import { attachDisks } from "./disks";
import { LabOs } from "./distro";
import { generateKey } from "./keys";
import { createNetwork } from "./network";
import { cacheRoot, checkLabName, hostAddress, machineOf, netnsOf, stateDirOf } from "./paths";
import { containerInit, isAlive, killQuietly } from "./procs";
import { Endpoint, Relay, waitForSshBanner } from "./relay";
import { addRpms, indexRepo, repoUrl, serveRepo } from "./repo";
import { baseKey, ensureBaseRootfs } from "./rootfs";
import { buildPrerequisiteStandins } from "./rpms";
import { run, RunResult } from "./run";
import { currentOwner, HostState, LabState, writeState } from "./state";
import { mountDevsOf, teardownLab, teardownStaleLabs } from "./teardown";

export type { LabOs } from "./distro";
export { EL_PREREQUISITES, BASE_PROVIDES } from "./rpms";
export { BUSYBOX_TAR_IN_HOST } from "./busybox";

export interface LabOptions {
  /** 1-10 lowercase letters/digits. Default: unique per process ("p<pid>"). */
  name?: string;
  hosts: number;
  /** Host names; default node1, node2, ... */
  hostNames?: string[];
  /** What /etc/os-release and the repo files say. Default centos7. */
  os?: LabOs;
  /** Raw disks per host, /dev/vdb onwards (sparse). Default 1 x 120 GB. */
  dataDisks?: { count: number; sizeGb: number };
  /** Directories whose *.rpm go into the lab repository (with the EL stand-ins). */
  rpmDirs?: string[];
  /** Leave the lab running when this process exits (`lab:up`); only down()/lab:down remove it. */
  keep?: boolean;
  /** Progress lines (base build, host start). */
  log?: (msg: string) => void;
}

export interface LabHost {
  name: string;
  privateAddress: string;
  sshHost: "127.0.0.1";
  sshPort: number;
  users: ["root", "centos"];
  dataDisks: string[];
  /** "ssh-ed25519 AAAA...": the host's SSH host key, to pin. */
  hostKey: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Lab {
  name: string;
  os: LabOs;
  hosts: LabHost[];
  /** OpenSSH private key (ed25519) accepted by root and centos on every host. */
  privateKey: string;
  privateKeyPath: string;
  /** OpenSSH known_hosts with every host's key for its 127.0.0.1 port (for the ssh CLI). */
  knownHostsPath: string;
  /** As hosts see it, e.g. http://10.77.0.1:8080/ */
  repoUrl: string;
  stateDir: string;
  /** Runs cmd with /bin/sh as root inside the host, without SSH (for test assertions). */
  exec(host: string, cmd: string): Promise<ExecResult>;
  /** A 127.0.0.1 port reaching host:port on the private network. */
  forward(host: string, port: number): Promise<Endpoint>;
  /** Powers the host off (disks, files and address are kept). */
  stop(host: string): Promise<void>;
  /** Boots a stopped host again and waits for SSH. */
  start(host: string): Promise<void>;
  addHost(): Promise<LabHost>;
  /** Adds a directory's *.rpm to the lab repository and re-indexes it. */
  publishRpms(dir: string): Promise<void>;
  down(): Promise<void>;
}

const SSH_TIMEOUT_MS = 120_000;
const owned = new Set<string>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", () => {
    for (const name of owned) teardownLab(name);
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const name of owned) teardownLab(name);
      owned.clear();
      process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1));
    });
  }
}

function toLabHost(h: HostState): LabHost {
  return {
    name: h.name,
    privateAddress: h.address,
    sshHost: "127.0.0.1",
    sshPort: h.sshPort ?? 0,
    users: ["root", "centos"],
    dataDisks: h.disks.map((d) => d.guestPath),
    hostKey: h.hostKey,
  };
}

/** Removes labs left by processes that died (labs kept by `lab:up` stay). */
export async function cleanupStaleLabs(): Promise<string[]> {
  return teardownStaleLabs();
}

/** Removes lab `name` completely, whoever started it (what `lab:down` does). */
export async function destroyLab(name: string): Promise<void> {
  owned.delete(name);
  teardownLab(checkLabName(name));
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  const log = opts.log ?? (() => undefined);
  const name = checkLabName(opts.name ?? `p${process.pid}`);
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 50) {
    throw new Error(`lab: hosts must be 1..50, got ${opts.hosts}`);
  }
  if (process.getuid?.() !== 0) {
    throw new Error("lab: needs root (network namespaces, mounts, loop devices); run with sudo");
  }
  teardownLab(name);
  teardownStaleLabs();

  const base = await ensureBaseRootfs(log);
  const busyboxTar = await ensureBusyboxTar(base, baseKey());
  const standins = await buildPrerequisiteStandins(path.join(cacheRoot(), "standins"));

  const stateDir = stateDirOf(name);
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const state: LabState = {
    name,
    netns: netnsOf(name),
    os: opts.os ?? "centos7",
    base,
    busyboxTar,
    owner: opts.keep ? null : currentOwner(),
    dataDisks: opts.dataDisks ?? { count: 1, sizeGb: 120 },
    hostNames: opts.hostNames,
    hosts: [],
    relayPids: [],
    innerDevs: [],
  };
  const save = () => writeState(stateDir, state);
  save();
  if (!opts.keep) {
    owned.add(name);
    installExitHandlers();
  }

  try {
    const privateKeyPath = path.join(stateDir, "id_ed25519");
    const publicKey = await generateKey(privateKeyPath, `arrowhead-lab-${name}`);

    await createNetwork(state.netns);
    const repoDir = path.join(stateDir, "repo");
    fs.mkdirSync(repoDir, { recursive: true });
    addRpms(repoDir, path.dirname(standins[0]));
    for (const d of opts.rpmDirs ?? []) addRpms(repoDir, d);
    await indexRepo(repoDir);
    state.repoPid = serveRepo(state.netns, repoDir, path.join(stateDir, "repo.log"));
    save();

    const relay = new Relay(state.netns, path.join(stateDir, "relay.log"), (pid) => {
      state.relayPids.push(pid);
      save();
    });

    const hostName = (i: number) => opts.hostNames?.[i] ?? `node${i + 1}`;
    const peers = () => state.hosts.map((h) => ({ name: h.name, address: h.address }));

    const bootHost = async (h: HostState) => {
      const layout = layoutOf(stateDir, h.name);
      h.cgroups = createMachineCgroups(h.machine);
      save();
      const nspawnPid = boot(
        {
          netns: state.netns,
          machine: h.machine,
          hostname: h.name,
          layout,
          disks: h.disks,
          extraBinds: [`${state.busyboxTar}:${BUSYBOX_TAR_IN_HOST}`],
        },
        h.cgroups,
      );
      h.nspawnPid = nspawnPid;
      save();
      await waitForInit(nspawnPid, layout.log);
    };

    const createHost = async (index: number): Promise<HostState> => {
      const hName = hostName(index);
      const h: HostState = {
        name: hName,
        index,
        address: hostAddress(index),
        machine: machineOf(name, hName),
        hostKey: "",
        disks: [],
      };
      state.hosts.push(h);
      save();
      const layout = layoutOf(stateDir, hName);
      h.disks = await attachDisks(
        path.join(stateDir, "disks"),
        hName,
        state.dataDisks.count,
        state.dataDisks.sizeGb,
      );
      save();
      await mountOverlay(base, layout);
      h.hostKey = await personalize(layout.root, {
        name: hName,
        address: h.address,
        os: state.os,
        peers: [],
        authorizedKey: publicKey,
      });
      return h;
    };

    // Only /etc/hosts changes on hosts already running (the installer may have edited the rest).
    const refreshPeers = () => {
      for (const h of state.hosts) writeHostsFile(layoutOf(stateDir, h.name).root, peers());
    };

    const knownHostsPath = path.join(stateDir, "known_hosts");
    const writeKnownHosts = () =>
      fs.writeFileSync(
        knownHostsPath,
        state.hosts
          .filter((h) => h.sshPort)
          .map((h) => `[127.0.0.1]:${h.sshPort} ${h.hostKey}\n`)
          .join(""),
      );

    const readyHost = async (h: HostState) => {
      await bootHost(h);
      const ep = await relay.forward({ host: h.address, port: 22 });
      h.sshPort = ep.port;
      save();
      writeKnownHosts();
      await waitForSshBanner(ep, SSH_TIMEOUT_MS);
    };

    const started = Date.now();
    const created: HostState[] = [];
    for (let i = 0; i < opts.hosts; i++) created.push(await createHost(i));
    refreshPeers();
    await Promise.all(created.map(readyHost));
    log(
      `lab: ${opts.hosts} host(s) answering SSH ${((Date.now() - started) / 1000).toFixed(1)} s after setup`,
    );

    const find = (host: string): HostState => {
      const h = state.hosts.find((x) => x.name === host);
      if (!h) {
        throw new Error(
          `lab: no host "${host}" in lab ${name} (hosts: ${state.hosts.map((x) => x.name).join(", ")})`,
        );
      }
      return h;
    };

    const labHosts = state.hosts.map(toLabHost);
    const lab: Lab = {
      name,
      os: state.os,
      hosts: labHosts,
      privateKey: fs.readFileSync(privateKeyPath, "utf8"),
      privateKeyPath,
      knownHostsPath,
      repoUrl: repoUrl(),
      stateDir,
      async exec(host, cmd): Promise<RunResult> {
        const h = find(host);
        const init = h.nspawnPid ? containerInit(h.nspawnPid) : undefined;
        if (!init) throw new Error(`lab: host ${host} is not running (start it first)`);
        return run(
          "nsenter",
          [
            `--target=${init}`,
            "--mount",
            "--uts",
            "--ipc",
            "--net",
            "--pid",
            "--cgroup",
            "--root",
            "--wd",
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/root",
            "LANG=C.UTF-8",
            "/bin/sh",
            "-c",
            cmd,
          ],
          { allowFail: true },
        );
      },
      async forward(host, port) {
        return relay.forward({ host: find(host).address, port });
      },
      async stop(host) {
        const h = find(host);
        if (!h.nspawnPid || !isAlive(h.nspawnPid)) return;
        const init = containerInit(h.nspawnPid);
        if (init) state.innerDevs = [...new Set([...state.innerDevs, ...mountDevsOf(init)])];
        save();
        const pid = h.nspawnPid;
        killQuietly(pid, "SIGTERM");
        const deadline = Date.now() + 30_000;
        while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        shutdownSync(pid, 0);
        h.nspawnPid = undefined;
        save();
      },
      async start(host) {
        const h = find(host);
        if (h.nspawnPid && isAlive(h.nspawnPid)) return;
        await bootHost(h);
        await waitForSshBanner({ host: "127.0.0.1", port: h.sshPort as number }, SSH_TIMEOUT_MS);
      },
      async addHost() {
        const h = await createHost(state.hosts.length);
        refreshPeers();
        await readyHost(h);
        const lh = toLabHost(h);
        labHosts.push(lh);
        return lh;
      },
      async publishRpms(dir) {
        addRpms(repoDir, dir);
        await indexRepo(repoDir);
      },
      async down() {
        owned.delete(name);
        relay.detach();
        teardownLab(name);
      },
    };
    return lab;
  } catch (e) {
    // A half-built lab is useless; remove it so the next run starts clean (unless someone
    // wants to look at it: ARROWHEAD_LAB_KEEP_FAILED=1, then `lab:down -- --name <name>`).
    if (process.env.ARROWHEAD_LAB_KEEP_FAILED === "1") {
      owned.delete(name);
      state.owner = null;
      writeState(stateDir, state);
    } else {
      owned.delete(name);
      teardownLab(name);
    }
    throw e;
  }
}
