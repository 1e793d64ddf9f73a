// The MDM's answers to scli's read-only queries, asked once per run where possible. The cluster
// stage asks all of them in one remote command (one round trip, one login); later stages reuse
// an answer while this run has changed nothing since it was given, which is the whole of a
// no-op re-run. Anything that polls for a change asks afresh.
import type { StageContext } from "./context";
import type { Scli, ScliCommand } from "./scli";
import { sectioned, splitSections, type Section } from "./shell";

export type ScliQuery = "cluster" | "all" | "sds" | "sdc" | "volumes";

export const ALL_QUERIES: readonly ScliQuery[] = ["cluster", "all", "sds", "sdc", "volumes"];

const COMMANDS: Record<ScliQuery, (s: Scli) => ScliCommand> = {
  cluster: (s) => s.queryCluster(),
  all: (s) => s.queryAll(),
  sds: (s) => s.queryAllSds(),
  sdc: (s) => s.queryAllSdc(),
  volumes: (s) => s.queryAllVolumes(),
};

const factKey = (host: string, query: ScliQuery) => `scli:${host}:${query}`;

/**
 * Ask several queries in one remote command. `first` (e.g. the login) runs before them in the
 * same command; its output and status are returned. Without `first` the caller must be logged in.
 */
export async function prefetchQueries(
  ctx: StageContext,
  host: string,
  step: string,
  queries: readonly ScliQuery[],
  first?: ScliCommand,
): Promise<Section | undefined> {
  const version = ctx.changeCount;
  const lines: Record<string, string> = first ? { first: first.line } : {};
  for (const k of queries) lines[k] = COMMANDS[k](ctx.scli).line;
  const r = await ctx.run(host, step, sectioned(lines), { quiet: true, secrets: first?.secrets });
  const sections = splitSections(r.stdout);
  for (const k of queries) {
    // A failed query (e.g. not logged in yet) is simply asked again on its own.
    if (sections[k]?.code === 0) ctx.remember(factKey(host, k), sections[k].out, version);
  }
  return sections.first;
}

/** One query's output: the cached answer while nothing changed since, else asked now. */
export async function scliQuery(
  ctx: StageContext,
  host: string,
  step: string,
  query: ScliQuery,
  o: { fresh?: boolean } = {},
): Promise<string> {
  const known = o.fresh ? undefined : ctx.recall<string>(factKey(host, query));
  if (known !== undefined) return known;
  const version = ctx.changeCount;
  const out = await ctx.scliMust(host, step, COMMANDS[query](ctx.scli));
  return ctx.remember(factKey(host, query), out, version);
}
