// Talking to the demo's hosts the way the user will: the printed `ssh` command (the demo's key
// copy, its known_hosts, 127.0.0.1 and the host's port), so every check here also proves the
// printed commands. Remote commands are fixed strings of this file or built from checked names.
import { spawn } from "node:child_process";
import { BUSYBOX_TAR_IN_HOST } from "../../test/lab/hosts";
import type { DemoLab } from "./lab";

/** The ssh command line (words) that logs in to `host` as root. */
export function sshArgs(lab: DemoLab, host: string): string[] {
  const h = lab.hosts.find((x) => x.name === host);
  if (!h)
    throw new Error(
      `the demo has no host ${host} (hosts: ${lab.hosts.map((x) => x.name).join(", ")})`,
    );
  return [
    "ssh",
    ...["-i", lab.keyFile, "-o", `UserKnownHostsFile=${lab.knownHostsFile}`],
    ...["-p", String(h.sshPort), "root@127.0.0.1"],
  ];
}

/** The same, as one line to print (paths and names hold no character a shell reads specially). */
export function sshLine(lab: DemoLab, host: string): string {
  const words = sshArgs(lab, host);
  for (const w of words) {
    if (!/^[A-Za-z0-9_./=@:-]+$/.test(w)) throw new Error(`unsafe word in an ssh command: ${w}`);
  }
  return words.join(" ");
}

/**
 * Runs `cmd` on `host` through ssh (BatchMode: never a prompt); resolves with stdout, or
 * throws naming the host, the command and what it printed.
 */
export function onHost(
  lab: DemoLab,
  host: string,
  cmd: string,
  timeoutMs = 180_000,
): Promise<string> {
  const [ssh, ...args] = sshArgs(lab, host);
  return new Promise((resolve, reject) => {
    const child = spawn(ssh, ["-o", "BatchMode=yes", ...args, cmd], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => reject(new Error(`cannot run ssh: ${e.message}`)));
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`${host}: \`${cmd}\` exited with ${code}:\n${(err || out).trim()}`));
    });
  });
}

/** The image the printed commands run: the lab's static busybox, imported (no registry here). */
export const IMAGE = "busybox";

/**
 * Ready on one host: Docker's root on the ScaleIO device, the volume plugin answering on its
 * socket, and the busybox image present. Throws saying which of these is missing.
 */
export async function makeReady(lab: DemoLab, host: string): Promise<void> {
  const source = await onHost(lab, host, "findmnt -n -o SOURCE --target /var/lib/docker");
  if (!/^\/dev\/(scini|loop)/.test(source)) {
    throw new Error(
      `${host}: /var/lib/docker is on ${source || "nothing"}, not on a ScaleIO volume`,
    );
  }
  const activate = await onHost(
    lab,
    host,
    "curl -sS --max-time 10 --unix-socket /run/docker/plugins/scaleio.sock -X POST -d '{}' http://plugin/Plugin.Activate",
  );
  if (!activate.includes("VolumeDriver")) {
    throw new Error(
      `${host}: the scaleio volume plugin did not answer Plugin.Activate (got: ${activate})`,
    );
  }
  await onHost(
    lab,
    host,
    `docker image inspect ${IMAGE} >/dev/null 2>&1 || docker import ${BUSYBOX_TAR_IN_HOST} ${IMAGE} >/dev/null`,
  );
}

/**
 * The first container writing to its own ScaleIO volume: a probe volume on `host`, written by a
 * container, read back, removed. Returns the seconds from the create to the read.
 */
export async function probeWrite(lab: DemoLab, host: string): Promise<number> {
  const t0 = Date.now();
  const vol = "demo-probe";
  await onHost(lab, host, `docker volume create -d scaleio -o size=8 ${vol} >/dev/null`);
  const got = await onHost(
    lab,
    host,
    `docker run --rm -v ${vol}:/data ${IMAGE} sh -c 'echo written > /data/probe && cat /data/probe'`,
  );
  if (got !== "written") throw new Error(`${host}: the probe container read back "${got}"`);
  const seconds = (Date.now() - t0) / 1000;
  await onHost(lab, host, `docker volume rm ${vol} >/dev/null`);
  return seconds;
}
