// The lab's package repository: a directory of RPMs indexed with createrepo_c and served over
// HTTP on the bridge address, from inside the lab's network namespace only.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { GATEWAY_ADDRESS, REPO_PORT } from "./paths";
import { run } from "./run";

/** Copies (hard-links when possible) every *.rpm of `from` into the repository directory. */
export function addRpms(repoDir: string, from: string): number {
  if (!fs.existsSync(from)) {
    throw new Error(`lab: RPM directory ${from} does not exist`);
  }
  fs.mkdirSync(repoDir, { recursive: true });
  let n = 0;
  for (const f of fs.readdirSync(from)) {
    if (!f.endsWith(".rpm")) continue;
    const dst = path.join(repoDir, f);
    fs.rmSync(dst, { force: true });
    try {
      fs.linkSync(path.join(from, f), dst);
    } catch {
      fs.copyFileSync(path.join(from, f), dst);
    }
    n++;
  }
  return n;
}

export async function indexRepo(repoDir: string): Promise<void> {
  await run("createrepo_c", ["--quiet", "--update", repoDir]).catch((e: Error) => {
    throw new Error(`${e.message}\nlab: indexing the lab repository needs createrepo-c (apt)`);
  });
}

/** Starts the HTTP server inside the namespace; returns its pid. */
export function serveRepo(netns: string, repoDir: string, logFile: string): number {
  const log = fs.openSync(logFile, "a");
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      netns,
      "python3",
      "-m",
      "http.server",
      String(REPO_PORT),
      "--bind",
      GATEWAY_ADDRESS,
      "--directory",
      repoDir,
    ],
    { detached: true, stdio: ["ignore", log, log] },
  );
  fs.closeSync(log);
  child.unref();
  if (!child.pid) throw new Error("lab: could not start the repository HTTP server");
  return child.pid;
}

export function repoUrl(): string {
  return `http://${GATEWAY_ADDRESS}:${REPO_PORT}/`;
}
