// `pulumi refresh` for the install resources (the dynamic provider's `read`): each resource's
// probe (registry.ts `observe`, observe/) reads what its stage would change on the hosts now,
// read-only, and the drift found becomes part of the resource's state:
// - its outputs get `drift` (one line per difference, "node2: ..."), so `pulumi refresh` shows
//   exactly the resources that changed on the hosts since the last `up`, and `diff` makes the
//   next `up` run their stages again (which repairs exactly that);
// - its inputs get it too, so `pulumi preview` names it: the dynamic provider's diff cannot
//   return a detailed diff, and the engine then shows the inputs' difference (`[diff: -drift]`,
//   with `--diff` the lines themselves); the program's inputs have no drift.
// The engine keeps the `spec` output and input secret: it copies secretness from the old state
// to what a provider that does not take secrets returns (annotateSecrets in Pulumi's
// provider_plugin.go Read).
import { engineSignal } from "./engine-watch";
import { nullSink } from "./log";
import { observeWith } from "./observe";
import type { StepInputs, StepOutputs } from "./provider";
import { resourceOf } from "./registry";

/** What read gives the engine: the same id, the outputs with the drift, and the inputs to keep. */
export interface ReadResult {
  id: string;
  props: StepOutputs;
  /** Only when the drift changed from or to none: else the stored inputs stay as they are. */
  inputs?: StepInputs & { drift?: string[] };
}

/** The host keys this resource's last run verified or pinned, as update() uses them. */
function pinnedKeys(props: StepOutputs): Record<string, string> {
  const all = {
    ...props.spec.pinnedHostKeys,
    ...props.pinnedHostKeys,
    ...props.hostKeys,
    ...(props.hostKey ? { [props.host]: props.hostKey } : {}),
  };
  return Object.fromEntries(
    Object.entries(all).filter(
      (e): e is [string, string] => typeof e[1] === "string" && e[1] !== "",
    ),
  );
}

/**
 * Read a resource's share of the hosts now (`props`: its state from the last `up` or refresh).
 * Never fails because of the hosts (an unreachable host is drift); changes nothing on them. Logs
 * nothing: what it found is the drift (a refresh would otherwise repeat connection notes).
 */
export async function read(id: string, props: StepOutputs): Promise<ReadResult> {
  const spec = { ...props.spec, pinnedHostKeys: pinnedKeys(props) };
  const found = await observeWith(spec, resourceOf(props.kind).observe, props.host, props, {
    log: nullSink,
    signal: engineSignal(),
  });
  const { drift: before, ...rest } = props;
  const drift = found.drift.length > 0 ? { drift: found.drift } : {};
  const outs: StepOutputs = { ...rest, ...found.outputs, ...drift };
  if (found.drift.length === 0 && !(before && before.length > 0)) return { id, props: outs };
  const { kind, host, spec: stored, pinnedHostKeys } = props;
  return { id, props: outs, inputs: { kind, host, spec: stored, pinnedHostKeys, ...drift } };
}
