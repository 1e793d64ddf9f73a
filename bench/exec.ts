// Round-trip time of one remote command through the installer's transport: a no-op re-run is
// mostly a chain of such queries, so this figure explains most of its time.
import { nullSink, Redactor, stepLog } from "../src/install/log";
import type { Lab } from "../test/lab/hosts";
import { connectAsRoot } from "./lab";
import { record } from "./report";

export async function benchExecLatency(lab: Lab, count = 30): Promise<void> {
  const h = lab.hosts[0];
  const log = stepLog(nullSink, new Redactor(), h.name, "bench-exec");
  const s = await connectAsRoot(lab, h, log);
  try {
    const ms: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = process.hrtime.bigint();
      await s.exec("true", { log, quiet: true });
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    ms.sort((a, b) => a - b);
    record({
      name: "remote command round trip (exec 'true', median)",
      value: ms[Math.floor(ms.length / 2)],
      unit: "ms",
      comparison: { name: "90th percentile", value: ms[Math.floor(ms.length * 0.9)], unit: "ms" },
      hosts: 1,
      note: `${count} commands one after another on one session`,
    });
  } finally {
    s.close();
  }
}
