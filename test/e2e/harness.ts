// Runs the REAL program (src/index.ts) under Pulumi's runtime without the Pulumi CLI (which
// cannot be installed here): `setMocks` stands in for the engine, and for the project's own
// dynamic resources the mock deserializes the provider Pulumi serialized into `__provider` and
// calls its real create(), exactly as the dynamic-provider host would. teardown() calls the real
// delete() in reverse creation order. Cloud resources are refused: the e2e stack is local.
//
// One program per test file (Pulumi's runtime state is process-global).
import { createRequire } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { generateHostKey } from "../../src/ssh-keygen";

// Dynamic resources: "pulumi-nodejs:dynamic:Resource", or "pulumi-nodejs:dynamic/<name>" when named.
const isDynamic = (type: string) => type.startsWith("pulumi-nodejs:dynamic");

interface DynamicProvider {
  create(inputs: Record<string, unknown>): Promise<{ id: string; outs?: Record<string, unknown> }>;
  delete?(id: string, props: Record<string, unknown>): Promise<void>;
  read?(id: string, props: Record<string, unknown>): Promise<{ id?: string }>;
}

export interface Created {
  type: string;
  name: string;
  id: string;
  outs: Record<string, unknown>;
  provider: DynamicProvider;
  seconds: number;
}

export interface HarnessRun {
  /** The program's stack outputs, resolved (secrets unwrapped). */
  outputs: Record<string, unknown>;
  /** Dynamic resources whose real create() ran, in completion order. */
  created: Created[];
  /** Every resource the program registered (type, name). */
  registered: { type: string; name: string }[];
  /** Asks each created dynamic resource's provider whether it still exists (pulumi refresh). */
  refresh(): Promise<{ name: string; exists: boolean }[]>;
  /** Real delete() of every created resource, last created first. Safe to call twice. */
  teardown(): Promise<void>;
}

export interface HarnessOptions {
  program: string;
  project: string;
  stack: string;
  /** Stack config without the namespace prefix handling: full keys ("arrowhead:cloud"). */
  config: Record<string, string>;
  secretKeys?: string[];
  /**
   * Which dynamic resources run their real create()/delete() (default: all). The others are
   * mocked like any resource (outputs = inputs): for stages the test environment cannot run yet.
   */
  real?: (name: string) => boolean;
  log?: (msg: string) => void;
}

const requireHere = createRequire(path.join(process.cwd(), "package.json"));
// The loader Pulumi's dynamic-provider host itself uses for `__provider`.
const requireFromString = requireHere("require-from-string") as (code: string) => {
  handler: () => DynamicProvider;
};

/** Secrets arrive wrapped in the mocks' inputs; providers get plain values, like the engine. */
function unwrap(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270") {
      return unwrap(o.value);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}

function resolveOutput(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    return new Promise((r) => (v as pulumi.Output<unknown>).apply((x) => r(x)));
  }
  return Promise.resolve(v);
}

export async function runProgram(o: HarnessOptions): Promise<HarnessRun> {
  const log = o.log ?? ((m: string) => process.stderr.write(`[harness] ${m}\n`));
  const created: Created[] = [];
  const registered: { type: string; name: string }[] = [];
  const inflight = new Set<Promise<unknown>>();
  let failed: (e: Error) => void = () => undefined;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  failure.catch(() => undefined);

  pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        registered.push({ type: args.type, name: args.name });
        if (isDynamic(args.type) && (o.real?.(args.name) ?? true)) {
          const inputs = unwrap(args.inputs) as Record<string, unknown>;
          const { __provider, ...props } = inputs;
          const provider = requireFromString(String(__provider)).handler();
          const started = Date.now();
          const creating = provider.create(props);
          inflight.add(creating);
          try {
            const r = await creating;
            const outs = { ...props, ...(r.outs ?? {}) };
            const seconds = Math.round((Date.now() - started) / 1000);
            created.push({ type: args.type, name: args.name, id: r.id, outs, provider, seconds });
            log(`created ${args.name} in ${seconds}s`);
            return { id: r.id, state: { ...outs, __provider } };
          } catch (e) {
            failed(new Error(`create ${args.name}: ${(e as Error).message}`));
            throw e;
          } finally {
            inflight.delete(creating);
          }
        }
        if (args.type === "tls:index/privateKey:PrivateKey") {
          // A real key, so a generated stack key would work as well.
          const pair = generateHostKey("arrowhead");
          return {
            id: `${args.name}-id`,
            state: {
              ...args.inputs,
              publicKeyOpenssh: pair.publicKey + "\n",
              privateKeyOpenssh: pair.privateKey,
            },
          };
        }
        if (
          isDynamic(args.type) ||
          args.type.startsWith("arrowhead:") ||
          args.type.startsWith("pulumi:")
        ) {
          return { id: `${args.name}-id`, state: args.inputs };
        }
        const err = new Error(
          `harness: ${args.type} (${args.name}) is a cloud resource; e2e is local`,
        );
        failed(err);
        throw err;
      },
      call: (args) => args.inputs,
    },
    o.project,
    o.stack,
    false,
  );
  pulumi.runtime.setAllConfig(o.config, o.secretKeys);

  const teardown = async () => {
    const errors: string[] = [];
    while (created.length > 0) {
      const c = created.pop()!;
      try {
        await c.provider.delete?.(c.id, c.outs);
        log(`deleted ${c.name}`);
      } catch (e) {
        errors.push(`${c.name}: ${(e as Error).message}`);
      }
    }
    if (errors.length) throw new Error(`teardown failed:\n${errors.join("\n")}`);
  };

  try {
    const mod = (await import(o.program)) as Record<string, unknown>;
    const entries = Object.entries(mod).filter(([k]) => k !== "default" && k !== "__esModule");
    const values = await Promise.race([
      Promise.all(entries.map(([, v]) => resolveOutput(v))),
      failure,
    ]);
    const outputs = Object.fromEntries(entries.map(([k], i) => [k, values[i]]));
    return {
      outputs,
      created,
      registered,
      teardown,
      refresh: async () =>
        Promise.all(
          created.map(async (c) => {
            const r = await c.provider.read?.(c.id, c.outs);
            return { name: c.name, exists: Boolean(r?.id) };
          }),
        ),
    };
  } catch (e) {
    // Whatever came up before the failure (or is still coming up) must not outlive it: the
    // program's registrations keep arriving for a moment after it threw.
    for (let quiet = 0; quiet < 3;) {
      await new Promise((r) => setTimeout(r, 1000));
      if (inflight.size > 0) {
        quiet = 0;
        await Promise.allSettled([...inflight]);
      } else quiet++;
    }
    await teardown().catch((t) => log((t as Error).message));
    throw e;
  }
}
