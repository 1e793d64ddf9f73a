// Read-only probes of the cluster-wide resources, from the MDM master: the MDM cluster's members,
// mode and name, the storage layout (protection domain, pool, one SDS per SDS node), and the
// state Verification reports. scli logs in with the configured password only (never the default
// one, never --set_password) and then asks queries, all in one round trip.
import { ALL_QUERIES, prefetchQueries, scliQuery, type ScliQuery } from "../cluster-view";
import { SECRET_VARS, type StageContext } from "../context";
import {
  classifyFailure,
  objectName,
  parseLogin,
  parseQueryAll,
  parseQueryCluster,
  parseSds,
  parseVolumes,
  vendorMessage,
} from "../scli";
import { assignDevices, poolsOf } from "../pools";
import { planCluster, wantedCluster } from "../stages/cluster";
import { planPools, type PoolPlan } from "../stages/pool-plan";
import { disconnectedDrift, disconnectedSds } from "../stages/sds-connect";
import { currentSds } from "../stages/storage";
import { STEP, type Observed, type Stored } from "./probe";

/** Logged in on `host` (its system ID), or why not, as a drift line. */
export type ReadLogin = { systemId: string } | { drift: string };

/**
 * Log in on `host` with mdmPassword and ask `queries` in the same round trip (their answers are
 * kept for scliQuery). Read-only: a cluster that still has the default password, or none at
 * all, is reported, not fixed.
 */
export async function readLogin(
  ctx: StageContext,
  host: string,
  queries: readonly ScliQuery[] = ALL_QUERIES,
): Promise<ReadLogin> {
  const known = ctx.scliLogins.get(host);
  if (known) return { systemId: known };
  const first = await prefetchQueries(
    ctx,
    host,
    STEP,
    queries,
    ctx.scli.login("admin", SECRET_VARS.mdmPassword),
  );
  const out = first?.out ?? "";
  const l = first?.code === 0 ? parseLogin(out) : undefined;
  if (l) {
    ctx.scliLogins.set(host, l.systemId);
    return { systemId: l.systemId };
  }
  const why = vendorMessage(out) || "no answer";
  switch (classifyFailure(out)) {
    case "auth":
      return {
        drift: `${host}: the MDM rejects the configured admin password (mdmPassword): ${why}`,
      };
    case "no-cluster":
      return { drift: `${host}: the MDM belongs to no cluster (${why})` };
    case "unreachable":
      return { drift: `${host}: no MDM answers (${why})` };
    default:
      return { drift: `${host}: scli --login failed: ${why}` };
  }
}

/** MdmCluster: the members, roles and mode the topology wants, and the system's name. */
export async function observeMdmCluster(ctx: StageContext, master: string): Promise<Observed> {
  const login = await readLogin(ctx, master);
  if ("drift" in login) return { drift: [login.drift] };
  const info = parseQueryCluster(await scliQuery(ctx, master, STEP, "cluster"));
  const want = wantedCluster(ctx);
  const plan = planCluster(want, info);
  const drift = [...plan.problems.map((p) => `${master}: ${p}`)];
  for (const { mdm, role } of plan.addStandbys)
    drift.push(
      `${mdm.node}: its MDM (${mdm.ip}, ${role === "tb" ? "tie-breaker" : "manager"}) is not in the cluster`,
    );
  if (plan.switchMode && plan.problems.length === 0) {
    const { mode, addSlaves, addTbs } = plan.switchMode;
    const members = [
      ...addSlaves.map((s) => `${s} as manager`),
      ...addTbs.map((t) => `${t} as tie-breaker`),
    ];
    drift.push(
      `${master}: the cluster runs ${info.mode || "no mode"}, the stack wants ${mode}` +
        (members.length > 0 ? ` with ${members.join(", ")}` : ""),
    );
  }
  const all = parseQueryAll(await scliQuery(ctx, master, STEP, "all"));
  if (all.name !== ctx.spec.clusterName)
    drift.push(
      `${master}: the system is named ${all.name ?? "(none)"}, not ${ctx.spec.clusterName}`,
    );
  return { drift, outputs: { clusterMode: info.mode, clusterState: info.state } };
}

/**
 * What the storage stage would do, as drift: its plan (stages/pool-plan.ts planPools) read off
 * the cluster as it is. Pure. `ipOf` gives a node's cluster address.
 */
export function storageDrift(
  master: string,
  plan: PoolPlan,
  ipOf: (node: string) => string,
): string[] {
  return [
    ...plan.refused.map((r) => `${master}: ${r}`),
    ...plan.addPds.map((pd) => `${master}: protection domain ${pd} is not in the cluster`),
    ...plan.addPools.map(
      (p) => `${master}: storage pool ${p.name} is not in protection domain ${p.protectionDomain}`,
    ),
    ...plan.addSds.map(
      (n) => `${n.node}: SDS ${objectName(n.node)} (${ipOf(n.node)}) is not in the cluster`,
    ),
    ...plan.addDevices.map(
      (d) => `${d.node}: device ${d.path} is not in SDS ${d.sdsName} (storage pool ${d.pool})`,
    ),
    ...plan.removePools.map(
      (p) =>
        `${master}: storage pool ${p.name} (protection domain ${p.protectionDomain}) is no longer in storagePools`,
    ),
  ];
}

/**
 * StorageLayout: protection domains, pools, each SDS node's SDS and devices, as the stage plans
 * them, and each SDS connected to the MDM (`--query_all_sds` State).
 */
export async function observeStorage(ctx: StageContext, master: string): Promise<Observed> {
  const login = await readLogin(ctx, master);
  if ("drift" in login) return { drift: [login.drift] };
  const sdsNodes = ctx.spec.machines.filter((m) => m.services.includes("sds"));
  const all = parseQueryAll(await scliQuery(ctx, master, STEP, "all"));
  const sdsNow = await currentSds(ctx, master, sdsNodes);
  const volumes = parseVolumes(await scliQuery(ctx, master, STEP, "volumes"));
  const plan = planPools(poolsOf(ctx.spec), assignDevices(ctx.spec), all, sdsNow, volumes);
  const listed = parseSds(await scliQuery(ctx, master, STEP, "sds"));
  return {
    drift: [
      ...storageDrift(master, plan, (n) => ctx.machine(n).privateAddress),
      ...disconnectedSds(listed, sdsNodes).map(disconnectedDrift),
    ],
  };
}

/**
 * Verification: the cluster's mode and state now. Drift when they differ from what the last
 * `up` reported (`stored`, kept as it is), so the next `up` verifies again and reports the
 * state it finds.
 */
export async function observeVerification(
  ctx: StageContext,
  master: string,
  stored: Stored,
): Promise<Observed> {
  const login = await readLogin(ctx, master, ["cluster"]);
  if ("drift" in login) return { drift: [login.drift] };
  const info = parseQueryCluster(await scliQuery(ctx, master, STEP, "cluster"));
  const now = `${info.mode} ${info.state}`;
  const was = `${stored.clusterMode ?? ""} ${stored.clusterState ?? ""}`.trim();
  const drift =
    now === was ? [] : [`${master}: the cluster is ${now}, was ${was || "not verified"}`];
  // Which MDMs are down, when the MDM says (Status of each member).
  const down = [info.master, ...info.slaves, ...info.tieBreakers]
    .filter((m) => m && m.status && !/^(normal|connected)$/i.test(m.status.trim()))
    .map((m) => nodeOf(ctx, m!.ips) ?? m!.name ?? m!.id);
  if (drift.length > 0 && down.length > 0)
    drift.push(`${master}: MDM(s) not Normal: ${down.join(", ")}`);
  // The stored mode and state stay what the last up verified, so the drift stays until an up
  // verifies again (the stack's clusterState output comes from there).
  return { drift };
}

/** The node whose cluster address is among `ips`. */
function nodeOf(ctx: StageContext, ips: string[]): string | undefined {
  const m = ctx.spec.machines.find((x) => ips.includes(x.privateAddress));
  return m?.name;
}
