// Day 2 through the real Pulumi engine (issue 20), on an `existing` stack over lab hosts: the
// time of `pulumi up` to remove a node holding N GB (ScaleIO moves its data first), to replace
// a dead node (its data rebuilt from the other copies; node4 takes its tie-breaker role), and to
// switch 3 -> 5 MDMs; for each, the share spent waiting for ScaleIO (the installer's own
// "waited N s" lines: the SDS removal, the cluster reaching its mode) against the rest (our
// steps and the engine). The emulator moves data at 1 GB/s (its default `data_move_gb_per_s`),
// so the waiting share says how the steps around it compare, not how long real ScaleIO takes.
import * as path from "node:path";
import {
  editStackConfig,
  existingHostEntries,
  initExistingStack,
  PulumiStack,
} from "../test/support/pulumi-cli";
import type { Lab } from "../test/lab/hosts";
import { record } from "./report";

const PASSWORDS = { mdmPassword: "Bench-Day2-Mdm-1", gatewayPassword: "Bench-Day2-Gw-2" };

/** Seconds the installer says it waited for ScaleIO in one `up`'s output. */
export function waitedSeconds(output: string): number {
  let sum = 0;
  for (const m of output.matchAll(/\(waited ([\d.]+) s\)/g)) sum += Number(m[1]);
  return sum;
}

/** The data an SDS holds (both copies), from `scli --query_sds` on node1. */
async function inUseGb(lab: Lab, node: string): Promise<number> {
  const ip = (n: string) => lab.hosts.find((h) => h.name === n)!.privateAddress;
  const m = `--mdm_ip ${ip("node1")},${ip("node2")}`;
  const r = await lab.exec(
    "node1",
    `printf '%s\\n' '${PASSWORDS.mdmPassword}' | scli --login --username admin --approve_certificate ${m} >/dev/null && scli --query_sds --sds_ip ${ip(node)} ${m}`,
  );
  return Number(/([\d.]+) GB \(\d+ MB\) in-use capacity/.exec(r.stdout)?.[1] ?? 0);
}

/** Runs one `up` after `edit`, records its time and its waiting share. */
async function timedUp(
  stack: PulumiStack,
  name: string,
  hosts: number,
  note: string,
): Promise<void> {
  const r = await stack.must(stack.cli(["up", "--yes"]), name);
  const waited = waitedSeconds(r.stdout + r.stderr);
  const share = waited / r.seconds;
  console.log(`  ${name}: ${r.seconds.toFixed(1)} s, waiting for ScaleIO ${waited.toFixed(1)} s`);
  record({ name, value: r.seconds, unit: "s", hosts, note });
  record({
    name: `${name}: share waiting for ScaleIO`,
    value: Math.round(share * 1000) / 10,
    unit: "%",
    hosts,
    note: `${waited.toFixed(1)} s of ${r.seconds.toFixed(1)} s; the rest: our steps and the engine`,
  });
}

/** The three day-2 figures on a lab of 5 hosts (more are added for 3 -> 5). */
export async function benchDay2(lab: Lab, rpmDir: string, tmp: string): Promise<void> {
  const stack = new PulumiStack(
    `benchday2${process.pid}`,
    path.join(tmp, "pulumi-day2"),
    "bench-passphrase",
    () => undefined,
  );
  const hosts = (names: string[]) =>
    editStackConfig(stack, (c) => {
      const all = existingHostEntries(lab);
      c["arrowhead:hosts"] = names.map((n) => all.find((h) => h.name === n)!);
    });
  try {
    await initExistingStack(stack, lab, { rpmDir, ...PASSWORDS });
    await stack.must(stack.cli(["up", "--yes"]), "install");
    const gb = await inUseGb(lab, "node5");
    hosts(["node1", "node2", "node3", "node4"]);
    await timedUp(stack, "day 2: remove a node", 5, `its SDS held ${gb} GB (both copies)`);
    await lab.stop("node3");
    await new Promise((r) => setTimeout(r, 5000));
    hosts(["node1", "node2", "node4"]);
    await timedUp(
      stack,
      "day 2: replace a dead node",
      4,
      "node3 (tie-breaker, SDS) stopped; node4 takes its role",
    );
    await lab.addHost();
    await lab.addHost();
    hosts(["node1", "node2", "node6", "node4", "node7"]);
    await stack.must(stack.cli(["config", "set", "arrowhead:clusterMode", "5_node"]), "config set");
    await timedUp(stack, "day 2: switch 3 -> 5 MDMs", 5, "two new hosts installed and added");
  } finally {
    await stack.cli(["destroy", "--yes"]);
    await stack.cli(["stack", "rm", "--yes", "--force"]);
  }
}
