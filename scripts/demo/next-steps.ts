// The closing screen: what a user does next, as full commands that work as printed from a root
// shell (the key, known_hosts and Pulumi settings are spelled out; nothing relies on the cwd).
import { q } from "../../src/install/shell";
import { sshLine, IMAGE } from "./hosts";
import type { DemoLab } from "./lab";
import { REPO, STACK } from "./paths";
import { type Pulumi, pulumiVars } from "./pulumi";
import { EMULATED, say } from "./ui";

/** The volume the three printed Docker commands use. */
export const VOLUME = "demo1";

/** `export ...` of the Pulumi settings (no secret: the passphrase stays in its 0600 file). */
export function exportLine(p: Pulumi): string {
  const vars = Object.entries(pulumiVars()).map(([k, v]) => `${k}=${v}`);
  if (p.binDir) vars.unshift(`PATH=${p.binDir}:$PATH`);
  return `export ${vars.join(" ")}`;
}

/** The three commands: create a volume on node1, write it there, read it on node2. */
export function volumeCommands(lab: DemoLab): string[] {
  const [a, b] = [lab.hosts[0].name, lab.hosts[1].name];
  return [
    `${sshLine(lab, a)} docker volume create -d scaleio -o size=8 -o iops=500 ${VOLUME}`,
    `${sshLine(lab, a)} "docker run --rm -v ${VOLUME}:/data ${IMAGE} sh -c 'echo hello from ${a} > /data/hello.txt'"`,
    `${sshLine(lab, b)} docker run --rm -v ${VOLUME}:/data ${IMAGE} cat /data/hello.txt`,
  ];
}

/** `npm run demo -- down`, with the ARROWHEAD_DEMO_* settings this run was given (they pick the demo). */
export function downLine(env: NodeJS.ProcessEnv = process.env): string {
  const vars = ["ARROWHEAD_DEMO_STATE", "ARROWHEAD_DEMO_PORT"]
    .filter((k) => env[k] !== undefined)
    .map((k) => `${k}=${q(env[k]!)} `);
  return `${vars.join("")}npm run demo -- down`;
}

/** Prints the closing screen. */
export function printNextSteps(lab: DemoLab, p: Pulumi): void {
  say("");
  say("Ready. Next steps (as root; every line works as printed):");
  say("");
  say("  Log in to a host:");
  for (const h of lab.hosts) say(`    ${sshLine(lab, h.name)}`);
  say("");
  say("  The stack (Pulumi state and passphrase file in a root-only folder):");
  say(`    ${exportLine(p)}`);
  say(`    pulumi -C ${REPO} stack output --stack ${STACK}`);
  say(
    `    pulumi -C ${REPO} config get arrowhead:mdmPassword --stack ${STACK}   # shows the MDM admin password`,
  );
  say("");
  say(`  A ScaleIO volume written on ${lab.hosts[0].name}, then read on ${lab.hosts[1].name}:`);
  for (const c of volumeCommands(lab)) say(`    ${c}`);
  say("");
  say("  Remove everything:");
  say(`    ${downLine()}`);
  say("");
  say(EMULATED);
}
