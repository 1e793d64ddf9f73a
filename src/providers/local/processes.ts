// Processes the provider starts detached (QEMU, the hub) outlive the Pulumi run, so they are
// found again by pid file, and a pid is only trusted when /proc shows it is still our process.
import * as fs from "node:fs";
import * as net from "node:net";

/** True when `pid` runs and its command line contains `marker` (guards against pid reuse). */
export function isOurProcess(pid: number | undefined, marker: string): boolean {
  if (!pid || !Number.isInteger(pid) || pid <= 0) return false;
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    // A zombie has an empty cmdline: it is as good as gone.
    return cmdline.split("\0").some((arg) => arg.includes(marker));
  } catch {
    return false;
  }
}

/** Every process whose command line mentions `marker` (e.g. a stack's directory). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (isOurProcess(Number(entry), marker)) pids.push(Number(entry));
  }
  return pids;
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitGone(pid: number, marker: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!isOurProcess(pid, marker)) return true;
    await sleep(200);
  }
  return !isOurProcess(pid, marker);
}

/** SIGTERM, then SIGKILL if it is still there after `termMs`. */
export async function terminate(pid: number, marker: string, termMs = 5000): Promise<void> {
  if (!isOurProcess(pid, marker)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitGone(pid, marker, termMs)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  await waitGone(pid, marker, 5000);
}

/** Asks a guest to power off through QEMU's QMP socket (ACPI power button). */
export function qmpPowerdown(socket: string, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.createConnection(socket);
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    let buf = "";
    let step = 0;
    c.on("data", (d) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      for (const line of lines) {
        if (step === 0 && line.includes('"QMP"')) {
          c.write('{"execute":"qmp_capabilities"}\n');
          step = 1;
        } else if (step === 1 && line.includes('"return"')) {
          c.write('{"execute":"system_powerdown"}\n');
          step = 2;
        } else if (step === 2 && line.includes('"return"')) {
          clearTimeout(timer);
          done(true);
        }
      }
    });
    c.on("error", () => {
      clearTimeout(timer);
      done(false);
    });
  });
}

/** Graceful stop: ACPI power-off and `graceMs` to finish, then terminate(). */
export async function stopQemu(
  pid: number,
  marker: string,
  qmpSocket: string,
  graceMs: number,
): Promise<void> {
  if (!isOurProcess(pid, marker)) return;
  if (graceMs > 0 && (await qmpPowerdown(qmpSocket))) {
    if (await waitGone(pid, marker, graceMs)) return;
  }
  await terminate(pid, marker);
}
