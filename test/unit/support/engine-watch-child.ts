// A stand-in for our dynamic-provider process (test/unit/engine-watch.test.ts): starts the
// watchdog as the provider does (argv[2]: the engine's address, "-" for none), says
// "watching <pid>", then logs a line through the installer's console sink every 20 ms until the
// watchdog ends the process. An install run gets the abort: "aborted: <reason>" goes to the file
// named by argv[3] (stdout may be the thing that broke).
import * as fs from "node:fs";
import { exitWhenEngineGone } from "../../../src/install/engine-watch";
import { consoleSink } from "../../../src/install/log";

const address = process.argv[2] === "-" ? undefined : process.argv[2];
const report = process.argv[3];
const signal = exitWhenEngineGone(address);
signal.addEventListener("abort", () => {
  fs.writeFileSync(report, `aborted: ${(signal.reason as Error).message}\n`);
});
const sink = consoleSink();
process.stdout.write(`watching ${process.pid}\n`);
let n = 0;
setInterval(
  () => sink({ host: "node1", step: "packages", stream: "info", text: `line ${n++}` }),
  20,
);
