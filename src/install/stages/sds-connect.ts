// An SDS the MDM lists but not as connected (`--query_all_sds` State: Disconnected): its service
// stopped, the host down or the network between them cut. The MDM loses the SDS's heartbeat and
// starts rebuilding its data from the other copies; once the SDS answers again it is Connected.
// A refresh reports it (observe/cluster.ts); `pulumi up` starts the node's sds service
// (HostPackages, which runs first) and the StorageLayout stage waits here until the MDM shows
// the SDS connected, or fails naming the node and the fix.
import { scliQuery } from "../cluster-view";
import type { StageContext } from "../context";
import type { Machine } from "../../machine";
import { objectName, parseSds, type SdsInfo } from "../scli";
import { sleep } from "../ssh";

/** An SDS of the stack the MDM does not show connected. */
export interface DisconnectedSds {
  node: string;
  name: string;
  ip: string;
  /** As the MDM prints it, e.g. "Disconnected". */
  state: string;
}

type SdsNode = Pick<Machine, "name" | "privateAddress">;

/**
 * The stack's SDS nodes whose SDS `--query_all_sds` lists in another state than Connected.
 * An SDS not listed is not here (it is missing, said elsewhere), nor one in a layout without a
 * State field (1.3x). Pure.
 */
export function disconnectedSds(have: SdsInfo[], sdsNodes: SdsNode[]): DisconnectedSds[] {
  const out: DisconnectedSds[] = [];
  for (const n of sdsNodes) {
    const s =
      have.find((d) => d.ip === n.privateAddress) ??
      have.find((d) => d.name === objectName(n.name));
    const state = s?.state?.trim();
    if (!s || !state || /^connected$/i.test(state)) continue;
    out.push({ node: n.name, name: s.name ?? objectName(n.name), ip: s.ip, state });
  }
  return out;
}

/** The refresh's drift line for one: "node2: the MDM shows SDS node2 (10.0.0.2) Disconnected; ...". Pure. */
export function disconnectedDrift(d: DisconnectedSds): string {
  return (
    `${d.node}: the MDM shows SDS ${d.name} (${d.ip}) ${d.state}; ` +
    "`pulumi up` starts its sds service and waits for it to connect"
  );
}

/** How long the stage waits for disconnected SDSs, and how often it asks (ms). */
export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/**
 * Wait until the MDM on `master` shows every SDS of `sdsNodes` that it lists as Connected:
 * at once when none is disconnected (the `--query_all_sds` answer the run already has), else
 * asking again every `pollMs` (2 s) with a progress line, for at most `timeoutMs` (120 s).
 * Throws on timeout naming each node still disconnected and the fix. Changes nothing.
 */
export async function waitSdsConnected(
  ctx: StageContext,
  master: string,
  step: string,
  sdsNodes: SdsNode[],
  o: WaitOptions = {},
): Promise<void> {
  const timeoutMs = o.timeoutMs ?? 120_000;
  const pollMs = o.pollMs ?? 2_000;
  const log = ctx.log(master, step);
  const start = Date.now();
  let down = disconnectedSds(parseSds(await scliQuery(ctx, master, step, "sds")), sdsNodes);
  let said = -Infinity;
  while (down.length > 0) {
    const waited = Date.now() - start;
    if (waited >= timeoutMs) throw new Error(stillDisconnected(master, step, down, timeoutMs));
    if (waited - said >= 10_000) {
      said = waited;
      log.info(
        `waiting for the MDM to show SDS ${down.map((d) => `${d.name} (${d.node}, ${d.state})`).join(", ")} ` +
          `connected: ${Math.round(waited / 1000)} s of ${Math.round(timeoutMs / 1000)} s`,
      );
    }
    await sleep(pollMs, ctx.opts.signal);
    const now = await scliQuery(ctx, master, step, "sds", { fresh: true });
    down = disconnectedSds(parseSds(now), sdsNodes);
  }
}

function stillDisconnected(
  master: string,
  step: string,
  down: DisconnectedSds[],
  timeoutMs: number,
): string {
  const each = down.map(
    (d) =>
      `SDS ${d.name} of ${d.node} (${d.ip}): on ${d.node} check \`systemctl status sds\` ` +
      `(start it with \`systemctl enable --now sds\`) and that the MDMs reach ${d.ip} on the SDS port (7072)`,
  );
  return (
    `[${master}] ${step}: the MDM still shows ${down.map((d) => `${d.name} ${d.state}`).join(", ")} ` +
    `after ${Math.round(timeoutMs / 1000)} s. ${each.join("; ")}. Then run \`pulumi up\` again; ` +
    `nothing was changed in the storage layout.`
  );
}
