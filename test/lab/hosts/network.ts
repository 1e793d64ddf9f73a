// The lab's private network: a network namespace of its own holding a bridge. Hosts attach to
// the bridge through nspawn's veth pairs; nothing is added to the root namespace.
import { BRIDGE, GATEWAY_ADDRESS } from "./paths";
import { run, runSync } from "./run";

export async function createNetwork(netns: string): Promise<void> {
  await run("ip", ["netns", "add", netns]).catch((e: Error) => {
    throw new Error(`${e.message}\nlab: cannot create network namespace ${netns} (run as root)`);
  });
  const inNs = (args: string[]) => run("ip", ["-n", netns, ...args]);
  await inNs(["link", "set", "lo", "up"]);
  await inNs(["link", "add", BRIDGE, "type", "bridge"]);
  await inNs(["addr", "add", `${GATEWAY_ADDRESS}/24`, "dev", BRIDGE]);
  await inNs(["link", "set", BRIDGE, "up"]);
}

export function networkExists(netns: string): boolean {
  const r = runSync("ip", ["netns", "list"], { allowFail: true });
  return r.stdout.split("\n").some((l) => l.split(" ")[0] === netns);
}

/** Pids of every process whose network namespace is the lab's. */
export function pidsInNetwork(netns: string): number[] {
  const r = runSync("ip", ["netns", "pids", netns], { allowFail: true });
  return r.stdout
    .split("\n")
    .filter((l) => /^\d+$/.test(l.trim()))
    .map(Number);
}

export function deleteNetworkSync(netns: string): void {
  if (networkExists(netns)) runSync("ip", ["netns", "delete", netns], { allowFail: true });
}

export function listLabNetworks(): string[] {
  const r = runSync("ip", ["netns", "list"], { allowFail: true });
  return r.stdout
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((n) => n.startsWith("ahlab-"));
}
