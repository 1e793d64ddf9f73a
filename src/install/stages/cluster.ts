// Stage "cluster": create the MDM cluster on the master, set the admin password, add the
// standby MDMs, switch to 3_node / 5_node, name the system. Each step queries first; a host
// interrupted anywhere in the sequence resumes where it stopped.
import { ALL_QUERIES, prefetchQueries, scliQuery, type ScliQuery } from "../cluster-view";
import { SECRET_VARS, waitFor, type InstallContext } from "../context";
import {
  objectName,
  parseLogin,
  parseQueryAll,
  parseQueryCluster,
  type ClusterInfo,
} from "../scli";
import { clusterMode, mdmNodes } from "../spec";

export const STEP = "cluster";

export class WrongPasswordError extends Error {}

/**
 * Log in with the configured password; when the cluster still has the default password, change
 * it first. Returns the system ID, or undefined when no cluster exists yet. Once per run and
 * host: scli keeps the session (ctx.scliRun logs in again if it ends). `alsoAsk` queries are
 * asked in the same round trip.
 */
export async function login(
  ctx: InstallContext,
  host: string,
  step: string,
  o: { alsoAsk?: readonly ScliQuery[] } = {},
): Promise<string | undefined> {
  const known = ctx.scliLogins.get(host);
  if (known) {
    if (o.alsoAsk) await prefetchQueries(ctx, host, step, o.alsoAsk);
    return known;
  }
  ctx.renewScliLogin ??= (h, st) => login(ctx, h, st);
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
  systemId ??= await freshLogin(ctx, host, step);
  if (systemId) ctx.scliLogins.set(host, systemId);
  return systemId;
}

async function freshLogin(
  ctx: InstallContext,
  host: string,
  step: string,
): Promise<string | undefined> {
  const s = ctx.scli;
  const noRenew = { renew: false };
  const r = await ctx.scliRun(host, step, s.login("admin", SECRET_VARS.mdmPassword), noRenew);
  if (r.ok) return parseLogin(r.out)?.systemId;
  if (r.failure === "auth") {
    const d = await ctx.scliRun(host, step, s.login("admin", SECRET_VARS.defaultPassword), noRenew);
    if (!d.ok) {
      throw new WrongPasswordError(
        `[${host}] ${step}: the MDM cluster exists but rejects the configured MDM admin password ` +
          `(mdmPassword). Set mdmPassword to the cluster's current admin password (it is never reset by the installer).`,
      );
    }
    await ctx.scliMust(
      host,
      step,
      s.setPassword(SECRET_VARS.defaultPassword, SECRET_VARS.mdmPassword),
      { change: true },
    );
    const again = await ctx.scliMust(host, step, s.login("admin", SECRET_VARS.mdmPassword));
    return parseLogin(again)?.systemId;
  }
  if (r.failure === "unreachable" && /not been created|not created/i.test(r.out)) return undefined;
  if (r.failure === "unreachable") {
    // No answer at all: either no cluster yet (1.3x/real scli say only "failed to connect") or MDM down.
    return undefined;
  }
  throw new Error(`[${host}] ${step}: scli login failed: ${ctx.redactor.redact(r.out.trim())}`);
}

export async function queryCluster(
  ctx: InstallContext,
  host: string,
  step: string,
  o: { fresh?: boolean } = {},
): Promise<ClusterInfo> {
  return parseQueryCluster(await scliQuery(ctx, host, step, "cluster", o));
}

export interface ClusterResult {
  systemId: string;
  mode: string;
  state: string;
}

export async function formCluster(ctx: InstallContext): Promise<ClusterResult> {
  const { master, slaves, tbs } = mdmNodes(ctx.spec.machines);
  const host = master.name;
  const s = ctx.scli;
  await ctx.step(host, STEP);
  // Also asks every query the later stages need (reused while nothing changes).
  let systemId = await login(ctx, host, STEP, { alsoAsk: ALL_QUERIES });
  if (!systemId) {
    await ctx.step(host, `${STEP}:create`);
    const c = await ctx.scliRun(
      host,
      STEP,
      s.createCluster({ ip: master.privateAddress, name: objectName(master.name) }),
      {
        change: true,
      },
    );
    if (!c.ok && c.failure !== "exists") {
      throw new Error(
        `[${host}] ${STEP}: creating the MDM cluster failed: ${ctx.redactor.redact(c.out.trim())}`,
      );
    }
    // The new master needs a moment before it answers logins.
    systemId = await waitFor(ctx, `the new MDM on ${host} to accept logins`, 180_000, async () => {
      try {
        return await login(ctx, host, STEP);
      } catch (e) {
        if (e instanceof WrongPasswordError) throw e;
        return undefined;
      }
    });
  }
  let info = await queryCluster(ctx, host, STEP);
  const present = new Set(
    [info.master, ...info.slaves, ...info.tieBreakers, ...info.standbys]
      .filter(Boolean)
      .map((m) => m!.name),
  );
  const presentIps = new Set(
    [info.master, ...info.slaves, ...info.tieBreakers, ...info.standbys].flatMap(
      (m) => m?.ips ?? [],
    ),
  );
  for (const [nodes, role] of [
    [slaves, "manager"],
    [tbs, "tb"],
  ] as const) {
    for (const n of nodes) {
      if (present.has(objectName(n.name)) || presentIps.has(n.privateAddress)) continue;
      await ctx.step(host, `${STEP}:add-${n.name}`);
      const r = await ctx.scliRun(
        host,
        STEP,
        s.addStandby({ ip: n.privateAddress, name: objectName(n.name) }, role),
        {
          change: true,
        },
      );
      if (!r.ok && r.failure !== "exists") {
        throw new Error(
          `[${host}] ${STEP}: adding ${role} MDM ${n.name} failed: ${ctx.redactor.redact(r.out.trim())}`,
        );
      }
    }
  }
  const mode = clusterMode(ctx.spec.machines);
  // Managers are compared as a set: after a failover the master is another manager, and the
  // cluster is still the one we built (switching it again would fail).
  const names = (ms: { name: string }[]) => ms.map((m) => m.name).sort();
  const wantManagers = [master, ...slaves].map((n) => objectName(n.name)).sort();
  const wantTbs = tbs.map((n) => objectName(n.name)).sort();
  const haveManagers = names([...(info.master ? [info.master] : []), ...info.slaves]);
  const haveTbs = names(info.tieBreakers);
  if (
    info.mode !== mode ||
    haveManagers.join() !== wantManagers.join() ||
    haveTbs.join() !== wantTbs.join()
  ) {
    await ctx.step(host, `${STEP}:switch`);
    const addSlaves = wantManagers.filter((n) => !haveManagers.includes(n));
    const addTbs = wantTbs.filter((n) => !haveTbs.includes(n));
    await ctx.scliMust(host, STEP, s.switchClusterMode(mode, addSlaves, addTbs), { change: true });
  }
  let polls = 0;
  info = await waitFor(ctx, `the MDM cluster to reach ${mode} Normal`, 180_000, async () => {
    const i = await queryCluster(ctx, host, STEP, { fresh: polls++ > 0 });
    return i.mode === mode && i.state === "Normal" ? i : undefined;
  });
  const all = parseQueryAll(await scliQuery(ctx, host, STEP, "all"));
  if (all.name !== ctx.spec.clusterName) {
    await ctx.scliMust(host, STEP, s.renameSystem(ctx.spec.clusterName), { change: true });
  }
  return { systemId: systemId!, mode: info.mode, state: info.state };
}
