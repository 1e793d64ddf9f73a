// Stage "MdmCluster": create the MDM cluster on the master, set the admin password, add the
// standby MDMs, switch to 3_node / 5_node, name the system. Each step queries first; a host
// interrupted anywhere in the sequence resumes where it stopped. What to do is decided by one
// pure function (planCluster) from what the MDM reports, so a re-run against an existing or
// failed-over cluster does only what is missing.
import type { StageName } from "../registry";
import { ALL_QUERIES, prefetchQueries, scliQuery, type ScliQuery } from "../cluster-view";
import { SECRET_VARS, ScliError, waitFor, type StageContext } from "../context";
import {
  allMdms,
  MDM_PASSWORD_RULE,
  mdmPasswordProblem,
  objectName,
  parseLogin,
  parseQueryAll,
  parseQueryCluster,
  type ClusterInfo,
  type MdmInfo,
  type ScliCommand,
} from "../scli";
import { planMdmRemoval } from "../day2-plan";
import { clusterMode, mdmNodes } from "../spec";

export const STEP: StageName = "MdmCluster";

export class WrongPasswordError extends Error {}

/** How long a login waits for an MDM that does not answer yet (starting, failing over). */
export const LOGIN_WAIT_MS = 120_000;

/**
 * Log in with the configured password; when the cluster still has the default password, change
 * it first. Returns the system ID, or undefined when the MDM is attached to no system yet (the
 * only case in which a cluster may be created). Once per run and host: scli keeps the session
 * (ctx.scliRun logs in again if it ends). `alsoAsk` queries are asked in the same round trip.
 * A transient failure (MDM not answering, session lost) is retried for up to LOGIN_WAIT_MS;
 * anything else the MDM says is thrown at once as a ScliError with its own message.
 */
export async function login(
  ctx: StageContext,
  host: string,
  step: string,
  o: { alsoAsk?: readonly ScliQuery[] } = {},
): Promise<string | undefined> {
  const known = ctx.scliLogins.get(host);
  if (known) {
    if (o.alsoAsk) await prefetchQueries(ctx, host, step, o.alsoAsk);
    return known;
  }
  ctx.scliSession.renew ??= (h, st) => login(ctx, h, st);
  let systemId: string | undefined;
  if (o.alsoAsk) {
    // The login and the queries in one round trip; when the login does not simply work,
    // freshLogin finds out why.
    const first = await prefetchQueries(
      ctx,
      host,
      step,
      o.alsoAsk,
      ctx.scli.login("admin", SECRET_VARS.mdmPassword),
    );
    if (first?.code === 0) systemId = parseLogin(first.out)?.systemId;
  }
  if (!systemId) {
    systemId = await whileTransient(
      ctx,
      `the MDM on ${host} to answer a login`,
      () => freshLogin(ctx, host, step),
      `No MDM answered for ${LOGIN_WAIT_MS / 1000} s: check that the MDM service runs on the MDM hosts and that ${host} reaches them`,
    );
  }
  if (systemId) ctx.scliLogins.set(host, systemId);
  return systemId;
}

async function freshLogin(
  ctx: StageContext,
  host: string,
  step: string,
): Promise<string | undefined> {
  const s = ctx.scli;
  const noRenew = { renew: false };
  const login = s.login("admin", SECRET_VARS.mdmPassword);
  const r = await ctx.scliRun(host, step, login, noRenew);
  if (r.ok) {
    const l = parseLogin(r.out);
    if (!l) throw ctx.scliError(host, step, login, r, "scli said nothing like 'Logged in.'");
    return l.systemId;
  }
  if (r.failure === "no-cluster") return undefined;
  if (r.failure !== "auth") throw ctx.scliError(host, step, login, r);
  const def = s.login("admin", SECRET_VARS.defaultPassword);
  const d = await ctx.scliRun(host, step, def, noRenew);
  if (!d.ok) {
    if (d.failure !== "auth") throw ctx.scliError(host, step, def, d);
    throw new WrongPasswordError(
      `[${host}] ${step}: the MDM cluster exists but rejects the configured MDM admin password ` +
        `(mdmPassword). Set mdmPassword to the cluster's current admin password (it is never reset by the installer).`,
    );
  }
  // The cluster still has the default password: set ours. Refused before asking the MDM when it
  // breaks the MDM's rule (config validation says the same before any machine exists).
  const problem = mdmPasswordProblem(ctx.spec.mdmPassword);
  if (problem) {
    throw new Error(
      `[${host}] ${step}: mdmPassword cannot be set on the MDM: ${problem}; the MDM requires ${MDM_PASSWORD_RULE}. ` +
        `Choose another mdmPassword (pulumi config set --secret arrowhead:mdmPassword ...) and run again; nothing was changed.`,
    );
  }
  const set = s.setPassword(SECRET_VARS.defaultPassword, SECRET_VARS.mdmPassword);
  const p = await ctx.scliRun(host, step, set, { change: true, renew: false });
  if (!p.ok) {
    throw ctx.scliError(
      host,
      step,
      set,
      p,
      `The MDM refused the new admin password (mdmPassword); its rule is ${MDM_PASSWORD_RULE}. Choose another mdmPassword and run again`,
    );
  }
  const again = await ctx.scliRun(host, step, login, noRenew);
  const l = again.ok ? parseLogin(again.out) : undefined;
  if (!l) throw ctx.scliError(host, step, login, again);
  return l.systemId;
}

/**
 * Poll until `f` gives an answer: a transient scli failure (MDM not ready, the master moving to
 * another manager, session lost) is tried again for up to LOGIN_WAIT_MS, then reported with the
 * MDM's last words and `fix`; any other failure is thrown at once.
 */
export async function whileTransient<T>(
  ctx: StageContext,
  what: string,
  f: () => Promise<T>,
  fix = `The MDMs did not become ready in ${LOGIN_WAIT_MS / 1000} s (${what}); check the MDM services and run again`,
): Promise<T> {
  let last: ScliError | undefined;
  return waitFor(ctx, what, LOGIN_WAIT_MS, async () => {
    try {
      return { v: await f() };
    } catch (e) {
      if (e instanceof ScliError && e.transient) {
        last = e;
        return undefined;
      }
      throw e;
    }
  }).then(
    (r) => r.v,
    (e: Error) => {
      if (!last || !/timed out after/.test(e.message)) throw e;
      throw new ScliError(
        last.host,
        last.step,
        last.command,
        last.failure,
        last.vendor,
        last.exitCode,
        fix,
      );
    },
  );
}

/**
 * A state-changing scli command, retried only while its failure is transient (see
 * whileTransient); `okIfExists` takes "already exists" as done (the caller verifies).
 */
export function scliChange(
  ctx: StageContext,
  host: string,
  step: string,
  c: ScliCommand,
  o: { okIfExists?: boolean } = {},
): Promise<string> {
  return whileTransient(ctx, `the MDM cluster to accept ${c.line.split(" ")[1]}`, () =>
    ctx.scliMust(host, step, c, { change: true, ...o }),
  );
}

/** `scli --query_cluster`, parsed (the run's cached answer unless `fresh`). */
export async function queryCluster(
  ctx: StageContext,
  host: string,
  step: string,
  o: { fresh?: boolean } = {},
): Promise<ClusterInfo> {
  return parseQueryCluster(await scliQuery(ctx, host, step, "cluster", o));
}

/** An MDM as we want it: node name, cluster address, ScaleIO name. */
export interface WantedMdm {
  node: string;
  ip: string;
  name: string;
}

export interface WantedCluster {
  mode: "3_node" | "5_node";
  master: WantedMdm;
  slaves: WantedMdm[];
  tbs: WantedMdm[];
}

export interface ClusterPlan {
  /** Standby MDMs to add, managers first. */
  addStandbys: { mdm: WantedMdm; role: "manager" | "tb" }[];
  /** Set when the mode or the manager / tie-breaker sets differ from what is wanted. */
  switchMode?: { mode: WantedCluster["mode"]; addSlaves: string[]; addTbs: string[] };
  /** Why the cluster cannot be brought to the wanted shape by adding (node in the wrong role). */
  problems: string[];
}

/** The MDM entry for a wanted MDM: matched by address (names are optional), else by name. */
export function findMdm(have: MdmInfo[], w: WantedMdm): MdmInfo | undefined {
  return (
    have.find((m) => m.ips.includes(w.ip) || m.managementIps.includes(w.ip)) ??
    have.find((m) => m.name !== undefined && m.name === w.name)
  );
}

const isTbRole = (role: string | undefined) => role !== undefined && /tie|tb/i.test(role);

/**
 * What the cluster stage must do to turn `have` (from --query_cluster) into `want`: which
 * standbys are missing, and whether --switch_cluster_mode is needed and with which members.
 * Managers are compared as a set (after a failover the master is another manager: still ours).
 * A wanted manager found as a tie-breaker, or the reverse, is a problem (reinstall in the right
 * role), never "fixed" by adding it again; with any problem the plan does nothing else.
 */
export function planCluster(want: WantedCluster, have: ClusterInfo): ClusterPlan {
  const everyone = allMdms(have);
  const managers = [...(have.master ? [have.master] : []), ...have.slaves];
  const problems: string[] = [];
  const addStandbys: ClusterPlan["addStandbys"] = [];
  const wrongRole = (w: WantedMdm, role: "manager" | "tie-breaker") =>
    problems.push(
      `node ${w.node} (${w.ip}) is in the MDM cluster as a ${role === "manager" ? "tie-breaker" : "manager"} ` +
        `but must be a ${role}: reinstall its MDM package in the ${role} role ` +
        `(MDM_ROLE_IS_MANAGER=${role === "manager" ? 1 : 0}) after removing it from the cluster`,
    );
  if (!findMdm(everyone, want.master))
    problems.push(
      `the MDM cluster does not list master node ${want.master.node} (${want.master.ip}); it was built with other members`,
    );
  for (const [list, role] of [
    [want.slaves, "manager"],
    [want.tbs, "tb"],
  ] as const) {
    for (const w of list) {
      const m = findMdm(everyone, w);
      if (!m) {
        addStandbys.push({ mdm: w, role });
        continue;
      }
      const asTb = have.tieBreakers.includes(m) || (have.standbys.includes(m) && isTbRole(m.role));
      const asManager =
        managers.includes(m) || (have.standbys.includes(m) && m.role !== undefined && !asTb);
      if (role === "manager" && asTb) wrongRole(w, "manager");
      if (role === "tb" && asManager) wrongRole(w, "tie-breaker");
    }
  }
  // Named as the MDM lists it; when it lists no name (3.6 prints only IDs), by the name we gave
  // it with --new_mdm_name (switching by name is the only form public automation uses).
  const member = (w: WantedMdm): string => findMdm(everyone, w)?.name ?? w.name;
  const addSlaves = [want.master, ...want.slaves].filter((w) => !findMdm(managers, w)).map(member);
  const addTbs = want.tbs.filter((w) => !findMdm(have.tieBreakers, w)).map(member);
  // With a problem nothing is to be done: the user must fix the cluster first.
  if (problems.length > 0) return { addStandbys: [], switchMode: undefined, problems };
  const switchNeeded = have.mode !== want.mode || addSlaves.length > 0 || addTbs.length > 0;
  return {
    addStandbys,
    switchMode: switchNeeded ? { mode: want.mode, addSlaves, addTbs } : undefined,
    problems,
  };
}

export interface ClusterResult {
  systemId: string;
  mode: string;
  state: string;
}

/** The cluster we want, from the machines' MDM roles. */
export function wantedCluster(ctx: StageContext): WantedCluster {
  const { master, slaves, tbs } = mdmNodes(ctx.spec.machines);
  const w = (m: { name: string; privateAddress: string }): WantedMdm => ({
    node: m.name,
    ip: m.privateAddress,
    name: objectName(m.name),
  });
  return {
    mode: clusterMode(ctx.spec.machines),
    master: w(master),
    slaves: slaves.map(w),
    tbs: tbs.map(w),
  };
}

/**
 * Bring the MDM cluster to the wanted shape from whatever state it is in: create it only when
 * the master's MDM says it belongs to no system, set the admin password, add the missing
 * standbys (finding the current master again after each), switch the mode, name the system.
 * Returns the system ID and the final mode/state. Throws a ScliError (host, step, command, the
 * MDM's words, a fix) for any refusal, and an Error for a cluster that cannot be completed
 * (planCluster problems); transient failures are waited on for up to LOGIN_WAIT_MS.
 */
export async function formCluster(ctx: StageContext): Promise<ClusterResult> {
  const want = wantedCluster(ctx);
  const host = want.master.node;
  const s = ctx.scli;
  await ctx.step(host, STEP);
  const systemId = await ensureSystem(ctx, want);
  let info = await queryCluster(ctx, host, STEP);
  let plan = planCluster(want, info);
  const fail = (problems: string[]) =>
    new Error(`[${host}] ${STEP}: the MDM cluster cannot be completed: ${problems.join("; ")}`);
  if (plan.problems.length > 0) throw fail(plan.problems);
  // After --add_standby_mdm a new manager may become master, and for a moment no MDM takes
  // commands ("not ready yet"). Every command carries all manager addresses; after each add the
  // stage asks afresh until an MDM, the current master, answers again.
  const currentCluster = () =>
    whileTransient(ctx, "the master MDM to answer after a change", () =>
      queryCluster(ctx, host, STEP, { fresh: true }),
    );
  for (const { mdm, role } of plan.addStandbys) {
    await ctx.step(host, `${STEP}:add-${mdm.node}`);
    // "already exists": an earlier, interrupted run added it; the fresh query below verifies.
    await scliChange(ctx, host, STEP, s.addStandby({ ip: mdm.ip, name: mdm.name }, role), {
      okIfExists: true,
    });
    info = await currentCluster();
  }
  if (plan.addStandbys.length > 0) {
    plan = planCluster(want, info);
    const stillMissing = plan.addStandbys.map((a) => `${a.mdm.node} (${a.mdm.ip})`);
    if (stillMissing.length > 0)
      plan.problems.push(`added but not listed by --query_cluster: ${stillMissing.join(", ")}`);
    if (plan.problems.length > 0) throw fail(plan.problems);
  }
  info = await handOverMaster(ctx, host, want, info, currentCluster);
  info = await switchAndSettle(ctx, want, plan, info);
  await removeStandbys(ctx, host, want, info);
  const all = parseQueryAll(await scliQuery(ctx, host, STEP, "all"));
  if (all.name !== ctx.spec.clusterName) {
    await scliChange(ctx, host, STEP, s.renameSystem(ctx.spec.clusterName));
  }
  return { systemId, mode: info.mode, state: info.state };
}

/**
 * Log in on the master, creating the cluster only when its MDM says it belongs to no system
 * (never on a mere "no answer"). Returns the system ID.
 */
async function ensureSystem(ctx: StageContext, want: WantedCluster): Promise<string> {
  const host = want.master.node;
  // Also asks every query the later stages need (reused while nothing changes).
  const systemId = await login(ctx, host, STEP, { alsoAsk: ALL_QUERIES });
  if (systemId) return systemId;
  await ctx.step(host, `${STEP}:create`);
  const create = ctx.scli.createCluster({ ip: want.master.ip, name: want.master.name });
  await scliChange(ctx, host, STEP, create, { okIfExists: true });
  // The new master needs a moment before it answers logins; for that moment it may still
  // say "no system". Anything else (e.g. the MDM refusing mdmPassword) is thrown at once.
  return waitFor(ctx, `the new MDM on ${host} to accept logins`, 180_000, () =>
    login(ctx, host, STEP),
  );
}

/**
 * Switch the cluster mode when the plan or a departing member asks for it (members leaving
 * go out in the same command as those joining: the cluster never runs with fewer voters than
 * its mode needs, day2-plan.ts), then wait until the cluster is in the wanted mode and Normal.
 */
async function switchAndSettle(
  ctx: StageContext,
  want: WantedCluster,
  plan: ClusterPlan,
  info: ClusterInfo,
): Promise<ClusterInfo> {
  const host = want.master.node;
  const out = planMdmRemoval(info, wantedAddresses(want), ourAddresses(ctx));
  const removing = out.removeSlaves.length > 0 || out.removeTbs.length > 0;
  if (plan.switchMode || removing) {
    const { addSlaves = [], addTbs = [] } = plan.switchMode ?? {};
    await ctx.step(host, `${STEP}:switch`);
    const cmd = removing
      ? ctx.scli.switchClusterModeRemoving(want.mode, { ...out, addSlaves, addTbs })
      : ctx.scli.switchClusterMode(want.mode, addSlaves, addTbs);
    await scliChange(ctx, host, STEP, cmd);
  }
  let polls = 0;
  const waitStart = Date.now();
  const settled = await waitFor(
    ctx,
    `the MDM cluster to reach ${want.mode} Normal`,
    180_000,
    async () => {
      const i = await whileTransient(ctx, "the master MDM to answer", () =>
        queryCluster(ctx, host, STEP, { fresh: polls++ > 0 }),
      );
      return i.mode === want.mode && i.state === "Normal" ? i : undefined;
    },
  );
  if (polls > 1)
    ctx
      .log(host, STEP)
      .info(`the MDM cluster is ${want.mode} Normal (waited ${secondsSince(waitStart)} s)`);
  return settled;
}

/** The addresses the wanted cluster has for managers (master and slaves) and tie-breakers. */
function wantedAddresses(want: WantedCluster): { managers: string[]; tbs: string[] } {
  return {
    managers: [want.master, ...want.slaves].map((w) => w.ip),
    tbs: want.tbs.map((w) => w.ip),
  };
}

/** Addresses of this stack's nodes, staying and departing: the only MDMs day 2 ever removes. */
function ourAddresses(ctx: StageContext): string[] {
  return [...ctx.spec.machines, ...(ctx.spec.departing ?? [])].map((m) => m.privateAddress);
}

/**
 * When the current master is no longer wanted as a manager, hand its role to a wanted slave
 * first (`--switch_mdm_ownership`); returns the cluster as it is afterwards.
 */
async function handOverMaster(
  ctx: StageContext,
  host: string,
  want: WantedCluster,
  info: ClusterInfo,
  current: () => Promise<ClusterInfo>,
): Promise<ClusterInfo> {
  const out = planMdmRemoval(info, wantedAddresses(want), ourAddresses(ctx));
  if (!out.newMaster) return info;
  const name = out.newMaster.name ?? out.newMaster.ips[0];
  await ctx.step(host, `${STEP}:master-to-${name}`);
  ctx.log(host, STEP).info(`handing the master MDM role to ${name} before the old master leaves`);
  await scliChange(ctx, host, STEP, ctx.scli.switchOwnership(name));
  return current();
}

/**
 * Remove the standby MDMs of this stack that the cluster no longer wants (taken out of the mode
 * by the switch, or departing nodes); MDMs at other addresses are left alone and named.
 */
async function removeStandbys(
  ctx: StageContext,
  host: string,
  want: WantedCluster,
  info: ClusterInfo,
): Promise<void> {
  const out = planMdmRemoval(info, wantedAddresses(want), ourAddresses(ctx));
  if (out.foreign.length > 0)
    ctx.log(host, STEP).info(`MDMs not of this stack left as they are: ${out.foreign.join(", ")}`);
  for (const ip of out.removeStandbys) {
    await ctx.step(host, `${STEP}:remove-standby-${ip}`);
    ctx.log(host, STEP).info(`removing standby MDM ${ip} from the cluster`);
    const rm = ctx.scli.removeStandby(ip);
    const r = await ctx.scliRun(host, STEP, rm, { change: true });
    if (!r.ok && r.failure !== "not-found") throw ctx.scliError(host, STEP, rm, r);
  }
  // A node that stays without an MDM role (5 -> 3) loses its MDM package once it is out (a
  // departing node loses all its packages in the storage stage): the ones just removed, and
  // those an interrupted run removed from the cluster before their package went.
  const listed = allMdms(info).filter((m) => !out.removeStandbys.includes(m.ips[0]));
  const inCluster = (ip: string) => listed.some((m) => m.ips.includes(ip));
  const demoted = ctx.spec.machines.filter(
    (m) =>
      !m.mdm &&
      !inCluster(m.privateAddress) &&
      (out.removeStandbys.includes(m.privateAddress) || ctx.spec.demoted?.includes(m.name)),
  );
  for (const m of demoted) await removeMdmPackage(ctx, m.name);
}

/** `rpm -e` the MDM package on a node that no longer has an MDM role (when installed). */
async function removeMdmPackage(ctx: StageContext, node: string): Promise<void> {
  const pkg = "EMC-ScaleIO-mdm";
  const has = await ctx.run(node, STEP, `rpm -q ${pkg}`, { check: false, quiet: true });
  if (has.code !== 0) return;
  ctx.log(node, STEP).info(`removing the MDM package: ${node} is no MDM any more`);
  await ctx.run(node, STEP, `env I_AM_SURE=1 rpm -e ${pkg}`, { change: true });
}

const secondsSince = (t: number) => Math.round((Date.now() - t) / 100) / 10;
