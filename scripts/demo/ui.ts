// What the demo prints: the "emulated" notice on every screen, steps with their duration, a
// heartbeat while a slow step runs, and the timings at the end.
export const EMULATED =
  "ScaleIO is emulated: the project's test double (test/emulator), no Dell software, no data safety.";

/** Seconds each finished step took, in the order they ran. */
export const timings: { step: string; seconds: number }[] = [];

const started = Date.now();

/** Seconds since this process started, one decimal. */
export function elapsed(): string {
  return ((Date.now() - started) / 1000).toFixed(1);
}

export function say(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** The header of every screen: what runs, and that ScaleIO is emulated. */
export function banner(title: string): void {
  say(`== Arrowhead demo: ${title}`);
  say(`   ${EMULATED}`);
  say("");
}

/**
 * Runs one step: prints it, a heartbeat every `heartbeatS` seconds while it runs (with `hint`,
 * e.g. "a few minutes the first time"), and its duration when done. Rethrows its error.
 */
export async function step<T>(
  what: string,
  fn: () => Promise<T>,
  o: { hint?: string; heartbeatS?: number } = {},
): Promise<T> {
  const t0 = Date.now();
  say(`-> ${what}${o.hint ? ` (${o.hint})` : ""}`);
  const beat = setInterval(
    () => say(`   ... ${what}: ${Math.round((Date.now() - t0) / 1000)} s so far`),
    (o.heartbeatS ?? 20) * 1000,
  );
  try {
    const out = await fn();
    const seconds = (Date.now() - t0) / 1000;
    timings.push({ step: what, seconds });
    say(`   done in ${seconds.toFixed(1)} s`);
    return out;
  } finally {
    clearInterval(beat);
  }
}

/** The timings table: every step, and the total since the demo started. */
export function printTimings(): void {
  say("Timings (s):");
  const width = Math.max(...timings.map((t) => t.step.length));
  for (const t of timings) say(`  ${t.step.padEnd(width)}  ${t.seconds.toFixed(1).padStart(6)}`);
}
