// RPM upload throughput: the installer's own upload (upload.ts stageAll: SFTP into a private
// folder, root moves it into the root-only staging folder, with its sha256 checks as root) against OpenSSH's scp of the same files to the same hosts, in the same run,
// both through the same loopback relay and both verifying host keys.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { nullSink, Redactor, stepLog } from "../src/install/log";
import type { SshSession } from "../src/install/ssh";
import { sha256File, stageAll, STAGING_ROOT } from "../src/install/upload";
import type { Lab, LabHost } from "../test/lab/hosts";
import { connectAsRoot } from "./lab";
import { record } from "./report";

const MB = 1024 * 1024;
/** Vendor-like names; sizes (MB) add up to 300. */
const FILES: [string, number][] = [
  ["EMC-ScaleIO-gateway-3.6-700.103.x86_64.rpm", 110],
  ["EMC-ScaleIO-mdm-3.6-700.103.el7.x86_64.rpm", 60],
  ["EMC-ScaleIO-sds-3.6-700.103.el7.x86_64.rpm", 45],
  ["EMC-ScaleIO-lia-3.6-700.103.el7.x86_64.rpm", 35],
  ["EMC-ScaleIO-sdc-3.6-700.103.el7.x86_64.rpm", 25],
  ["EMC-ScaleIO-mgmt-server-3.6-700.103.noarch.rpm", 25],
];
const SSH2_NAME = "bench-upload";
const SSH2_DIR = `${STAGING_ROOT}/${SSH2_NAME}`;
const SCP_DIR = "/var/tmp/bench-upload/scp";

/** Random (incompressible) files, written 1 MB at a time so memory stays flat. */
function makeFiles(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return FILES.map(([name, mb]) => {
    const p = path.join(dir, name);
    const fd = fs.openSync(p, "w");
    try {
      for (let i = 0; i < mb; i++) fs.writeSync(fd, randomBytes(MB));
    } finally {
      fs.closeSync(fd);
    }
    return p;
  });
}

function scp(lab: Lab, h: LabHost, files: string[]): Promise<void> {
  const args = [
    "-q",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "IdentitiesOnly=yes",
    "-i",
    lab.privateKeyPath,
    "-P",
    String(h.sshPort),
    ...files,
    `root@127.0.0.1:${SCP_DIR}/`,
  ];
  return new Promise((resolve, reject) => {
    const p = spawn("scp", args, { stdio: ["ignore", "inherit", "pipe"] });
    let err = "";
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`scp to ${h.name} failed (exit ${code}): ${err.trim()}`)),
    );
  });
}

export async function benchUpload(lab: Lab, tmp: string, rounds = 2): Promise<void> {
  const hosts = lab.hosts.slice(0, 3);
  const files = makeFiles(path.join(tmp, "upload"));
  const total = FILES.reduce((a, [, mb]) => a + mb, 0) * hosts.length;
  const redactor = new Redactor();
  const sessions = await Promise.all(
    hosts.map((h) => connectAsRoot(lab, h, stepLog(nullSink, redactor, h.name, "connect"))),
  );
  const logOf = (s: SshSession) => stepLog(nullSink, redactor, s.name, "bench-upload");
  const clean = (dir: string) =>
    Promise.all(
      sessions.map((s) =>
        s.exec(`rm -rf ${dir} && mkdir -p ${dir}`, { log: logOf(s), quiet: true }),
      ),
    );
  const jobs = () =>
    sessions.map((s) => ({
      session: s,
      log: logOf(s),
      files: files.map((f) => ({ local: f, name: `${SSH2_NAME}/${path.basename(f)}` })),
    }));
  try {
    const ssh2Ms: number[] = [];
    const ssh2CpuMs: number[] = [];
    const scpMs: number[] = [];
    // Alternate the two so a burst of load from elsewhere does not land on one side only.
    for (let r = 0; r < rounds; r++) {
      await clean(SCP_DIR);
      let t = Date.now();
      await Promise.all(hosts.map((h) => scp(lab, h, files)));
      scpMs.push(Date.now() - t);
      await clean(SSH2_DIR);
      t = Date.now();
      const cpu0 = process.cpuUsage();
      const n = await stageAll(jobs());
      ssh2Ms.push(Date.now() - t);
      const cpu = process.cpuUsage(cpu0);
      ssh2CpuMs.push(Math.round((cpu.user + cpu.system) / 1000));
      if (n !== files.length * hosts.length)
        throw new Error(`ssh2 uploaded ${n} files, expected all`);
      console.log(
        `  round ${r + 1}: scp ${(scpMs[r] / 1000).toFixed(1)} s, installer upload ${(ssh2Ms[r] / 1000).toFixed(1)} s ` +
          `(its process used ${(ssh2CpuMs[r] / 1000).toFixed(1)} s CPU)`,
      );
    }
    // Same content on every host and in both directories as here: a transfer lost nothing.
    const local = new Map<string, string>();
    for (const f of files) local.set(path.basename(f), await sha256File(f));
    const sums = await Promise.all(
      sessions.map((s) =>
        s.exec(`sha256sum ${SSH2_DIR}/*.rpm ${SCP_DIR}/*.rpm`, { log: logOf(s), quiet: true }),
      ),
    );
    for (const [i, r] of sums.entries()) {
      const lines = r.stdout.trim().split("\n");
      const bad = lines.filter((l) => {
        const [sum, file] = l.split(/\s+/);
        return local.get(path.basename(file)) !== sum;
      });
      if (lines.length !== files.length * 2 || bad.length > 0)
        throw new Error(
          `${sessions[i].name}: uploaded files differ from the local ones: ${bad.join("; ")}`,
        );
    }
    const best = (xs: number[]) => Math.min(...xs);
    const ssh2Rate = total / (best(ssh2Ms) / 1000);
    const scpRate = total / (best(scpMs) / 1000);
    record({
      name: "upload throughput (installer ssh2 upload, 300 MB x 3 hosts)",
      value: ssh2Rate,
      unit: "MB/s",
      comparison: { name: "OpenSSH scp, same files and hosts", value: scpRate, unit: "MB/s" },
      goal: ">= 90% of OpenSSH",
      met: ssh2Rate >= 0.9 * scpRate,
      hosts: hosts.length,
      note:
        `best of ${rounds}; ssh2 ${ssh2Ms.join("/")} ms (CPU ${ssh2CpuMs.join("/")} ms), ` +
        `scp ${scpMs.join("/")} ms`,
    });
    record({
      name: "upload ratio ssh2/scp",
      value: (100 * ssh2Rate) / scpRate,
      unit: "%",
      goal: ">= 90%",
      met: ssh2Rate >= 0.9 * scpRate,
      hosts: hosts.length,
    });
    // Second upload of the same files: every file is skipped after a remote sha256sum.
    let t = Date.now();
    const again = await stageAll(jobs());
    const secondMs = Date.now() - t;
    if (again !== 0) throw new Error(`second upload re-sent ${again} files`);
    record({
      name: "second upload, checksums match (nothing sent)",
      value: secondMs / 1000,
      unit: "s",
      comparison: { name: "first upload", value: best(ssh2Ms) / 1000, unit: "s" },
      goal: "near zero",
      met: secondMs < 0.1 * best(ssh2Ms),
      hosts: hosts.length,
    });
    // Guard for the skip logic: a remote file changed behind our back is sent again.
    const victim = `${SSH2_DIR}/${path.basename(files[files.length - 1])}`;
    await sessions[0].exec(`printf x >> ${victim}`, { log: logOf(sessions[0]), quiet: true });
    const resent = await stageAll(jobs());
    if (resent !== 1) throw new Error(`a changed remote file: ${resent} files re-sent, expected 1`);
    // What part of that is the local hashing (the installer hashes each file once per host).
    t = Date.now();
    for (const f of files) await sha256File(f);
    record({
      name: "local sha256 of the 300 MB set, once",
      value: (Date.now() - t) / 1000,
      unit: "s",
      hosts: 1,
      note: "informative: the upload hashes each local file once per host",
    });
  } finally {
    await Promise.all(
      sessions.map((s) =>
        s
          .exec("rm -rf /var/tmp/bench-upload", { log: logOf(s), quiet: true })
          .catch(() => undefined),
      ),
    );
    for (const s of sessions) s.close();
    fs.rmSync(path.join(tmp, "upload"), { recursive: true, force: true });
  }
}
