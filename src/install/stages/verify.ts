// Stage "Verification": read-only checks that the whole thing works: the cluster's mode and state,
// a gateway login over REST, and each Docker host's root dir on its ScaleIO device.
import type { StageName } from "../registry";
import type { StageContext } from "../context";
import { mdmNodes } from "../spec";
import { login, queryCluster } from "./cluster";
import { checkDockerRoot, dockerRootFact, type DockerResult } from "./docker";
import { gatewayClient, gatewayLoginFact, mdmLoginWorks } from "./gateway";

export const STEP: StageName = "Verification";

export interface Verification {
  clusterMode: string;
  clusterState: string;
  /** e.g. "3/3" */
  clusterActive?: string;
  gatewayLogin: boolean;
  docker: Record<string, { rootDir: string; device: string }>;
}

export async function verify(
  ctx: StageContext,
  volumes: { node: string; device: string }[],
): Promise<Verification> {
  const master = mdmNodes(ctx.spec.machines).master.name;
  await ctx.step(master, STEP);
  if (!(await login(ctx, master, STEP))) throw new Error(`[${master}] ${STEP}: no MDM cluster`);
  // The three checks are independent: run them at once.
  const gw = ctx.spec.machines.find((m) => m.services.includes("gateway"));
  const docker: Verification["docker"] = {};
  const [info, gatewayLogin] = await Promise.all([
    queryCluster(ctx, master, STEP),
    // A check this run already made, with no change since, is not made again.
    !gw
      ? false
      : (ctx.recall<boolean>(gatewayLoginFact(gw.name)) ??
        gatewayClient(ctx, gw.name, STEP).then((c) => mdmLoginWorks(ctx, c))),
    ...volumes.map(async (v) => {
      const r =
        ctx.recall<DockerResult>(dockerRootFact(v.node)) ??
        (await checkDockerRoot(ctx, v.node, v.device, STEP));
      docker[v.node] = { rootDir: r.rootDir, device: r.device };
    }),
  ]);
  return {
    clusterMode: info.mode,
    clusterState: info.state,
    clusterActive: info.active,
    gatewayLogin,
    docker,
  };
}
