// `npm run demo` [up] | `npm run demo -- down` | `npm run demo -- help`: Arrowhead's main job on
// this machine, on three lab hosts with the ScaleIO emulator (a test double, never a product
// default). Exit status: 0 done, 2 a preflight problem (nothing changed), 1 anything else.
import { down } from "./down";
import { PreflightError } from "./preflight";
import { running } from "./pulumi";
import { up } from "./up";
import { EMULATED, say } from "./ui";

const USAGE = `usage: npm run demo            stand up (or finish, or check) the demo
       npm run demo -- down    remove it all
Needs root on Linux. State: /var/lib/arrowhead-demo (ARROWHEAD_DEMO_STATE); SSH ports
127.0.0.1:2201-2203 (ARROWHEAD_DEMO_PORT moves them).`;

async function main(argv: string[]): Promise<void> {
  const cmd = argv[0] ?? "up";
  if (cmd === "up") return up();
  if (cmd === "down") return down();
  if (cmd === "help" || cmd === "--help" || cmd === "-h") return say(`${USAGE}\n${EMULATED}`);
  throw new PreflightError(`unknown command "${cmd}"\n${USAGE}`);
}

const AGAIN = "\nRun `npm run demo` again to finish, or `npm run demo -- down` to remove it all.";

// A closed stdout (`npm run demo | head`) must not stop the work half-way.
process.stdout.on("error", () => undefined);
// Ctrl-C: a running pulumi command gets it too and stops cleanly (its failure ends the demo
// with the usual advice); otherwise stop now. A second Ctrl-C stops at once (one Ctrl-C arrives
// up to three times, from the terminal and relayed by npm and tsx: those within 1 s count once).
let interrupted = 0;
process.on("SIGINT", () => {
  if (interrupted > 0 && Date.now() - interrupted < 1000) return;
  if (interrupted > 0 || running === 0) {
    process.stderr.write(`\ninterrupted.${AGAIN}\n${EMULATED}\n`);
    process.exit(130);
  }
  interrupted = Date.now();
  process.stderr.write("\ninterrupted: letting pulumi stop cleanly (Ctrl-C again to stop now)\n");
});

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: Error) => {
    const again = e instanceof PreflightError ? "" : AGAIN;
    process.stderr.write(`\nerror: ${e.message}${again}\n${EMULATED}\n`);
    process.exit(e instanceof PreflightError ? 2 : 1);
  },
);
