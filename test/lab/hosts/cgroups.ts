// Every lab container gets cgroups of its own. nspawn run with --keep-unit and no systemd on
// the host side puts its payload in "<own cgroup>/payload": started from the same cgroup, all
// containers on this machine would share one tree, and one container's systemd stopping a
// unit (or powering off) would kill processes of the others. So each nspawn starts in
// "<current cgroup>/arrowhead-lab/<machine>" of every hierarchy, removed at teardown.
import * as fs from "node:fs";
import * as path from "node:path";

interface Hierarchy {
  mount: string;
  /** Our own cgroup path in that hierarchy. */
  current: string;
}

function hierarchies(): Hierarchy[] {
  const own = new Map<string, string>();
  for (const line of fs.readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) own.set(m[1], m[2]);
  }
  const out: Hierarchy[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const [fstype, , superOpts] = post.split(" ");
    const mount = pre.split(" ")[4];
    if (fstype === "cgroup2") {
      const cur = own.get("");
      if (cur !== undefined) out.push({ mount, current: cur });
    } else if (fstype === "cgroup") {
      const opts = superOpts.split(",");
      const key = [...own.keys()].find(
        (k) => k !== "" && k.split(",").every((c) => opts.includes(c)),
      );
      if (key !== undefined) out.push({ mount, current: own.get(key) as string });
    }
  }
  return out;
}

/** A new v1 cpuset cgroup starts with no CPUs and no memory nodes: nothing can join it. */
function inheritCpuset(dir: string): void {
  for (const f of ["cpuset.cpus", "cpuset.mems"]) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file) || fs.readFileSync(file, "utf8").trim() !== "") continue;
    fs.writeFileSync(file, fs.readFileSync(path.join(path.dirname(dir), f), "utf8"));
  }
}

/** The machine's cgroup directories (under our own cgroup: leaving e.g. the memory cgroup
 * we were put in would escape this machine's limits). */
export function machineCgroupDirs(machine: string): string[] {
  return hierarchies().map((h) => path.join(h.mount, h.current, "arrowhead-lab", machine));
}

/** Creates the machine's cgroup in every hierarchy; returns the directories. */
export function createMachineCgroups(machine: string): string[] {
  const dirs: string[] = [];
  for (const dir of machineCgroupDirs(machine)) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      inheritCpuset(path.dirname(dir));
      inheritCpuset(dir);
      dirs.push(dir);
    } catch {
      // A hierarchy we may not write to (read-only mount): the container runs without it.
    }
  }
  return dirs;
}

/** Removes cgroup directories bottom-up; cgroups still holding processes stay (and are named). */
export function removeCgroupTrees(dirs: string[]): string[] {
  const busy: string[] = [];
  const rm = (dir: string) => {
    let entries: fs.Dirent[] = [];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) rm(path.join(dir, e.name));
    try {
      fs.rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") busy.push(dir);
    }
  };
  for (const d of dirs) rm(d);
  for (const d of dirs) {
    // The shared "arrowhead-lab" parent goes once no lab uses it.
    try {
      fs.rmdirSync(path.dirname(d));
    } catch {
      // Another lab's machines are still in it.
    }
  }
  return busy;
}

/**
 * Empty cgroups Docker inside a killed host left at hierarchy roots ("docker/<id>"): runc
 * removes them when a container exits, but not when its host's PID namespace is killed.
 * Only empty ones can be removed, so live containers of other labs are untouched.
 */
export function removeEmptyDockerCgroups(): void {
  for (const h of hierarchies()) {
    for (const base of [h.mount, path.join(h.mount, h.current)]) {
      const docker = path.join(base, "docker");
      if (!fs.existsSync(docker)) continue;
      for (const e of fs.readdirSync(docker, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        try {
          const procs = fs.readFileSync(path.join(docker, e.name, "cgroup.procs"), "utf8");
          if (procs.trim() === "") removeCgroupTrees([path.join(docker, e.name)]);
        } catch {
          // Gone meanwhile.
        }
      }
      try {
        fs.rmdirSync(docker);
      } catch {
        // Still used.
      }
    }
  }
}
