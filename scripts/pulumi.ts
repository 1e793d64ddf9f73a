// `pulumi preview | up | refresh | destroy` for this project where the Pulumi CLI has no Node.js
// language host (pulumi-language-nodejs): machines that built the CLI with scripts/pulumi-cli.sh
// (the Go module proxy does not serve the language host). It drives the same project directory,
// the same stacks/ files, backend and state through Pulumi's Automation API, whose in-process
// language server runs src/index.ts; the engine, the providers and the state are the real CLI's.
//
// Usage: npm run pulumi -- <preview|up|refresh|destroy> [--stack <name>] [--yes] [--json-outputs]
// Everything else (stack init/select/rm, config set, stack output, stack export) is the CLI's own.
// Exit status: 0 on success, 1 when the operation failed (the engine's message is printed),
// 2 on a usage error. With a normal Pulumi install, run `pulumi up` etc. directly instead.
import * as path from "node:path";
import { LocalWorkspace, Stack, type PulumiFn } from "@pulumi/pulumi/automation";

const REPO = path.resolve(__dirname, "..");
const PROGRAM = path.join(REPO, "src", "index.ts");
const COMMANDS = ["preview", "up", "refresh", "destroy"] as const;
type Command = (typeof COMMANDS)[number];

interface Args {
  command: Command;
  stack?: string;
}

/** Parses argv (after the script name). Throws a usage message for anything unknown. */
export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command as Command)) {
    throw new Error(`usage: npm run pulumi -- <${COMMANDS.join("|")}> [--stack <name>] [--yes]`);
  }
  const args: Args = { command: command as Command };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--yes" || a === "-y" || a === "--non-interactive" || a === "--skip-preview") {
      continue; // never interactive: the Automation API neither prompts nor previews first
    } else if (a === "--stack" || a === "-s") {
      args.stack = rest[++i];
      if (!args.stack) throw new Error(`${a} needs a stack name`);
    } else if (a.startsWith("--stack=")) {
      args.stack = a.slice("--stack=".length);
    } else {
      throw new Error(`unknown option ${a}; this wrapper takes --stack <name> and --yes`);
    }
  }
  return args;
}

/** The program, imported fresh in this process: its exports are the stack outputs. */
const program: PulumiFn = async () => {
  const exports = (await import(PROGRAM)) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(exports).filter(
      ([k, v]) => k !== "default" && k !== "__esModule" && v !== undefined,
    ),
  );
};

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  const ws = await LocalWorkspace.create({ workDir: REPO, program });
  const stackName = args.stack ?? (await ws.stack())?.name;
  if (!stackName) {
    process.stderr.write(
      "no stack selected: run `pulumi stack select <name>` (or init one) first, or pass --stack\n",
    );
    return 2;
  }
  const stack = await Stack.select(stackName, ws);
  const onOutput = (out: string) => process.stdout.write(out);
  const onError = (err: string) => process.stderr.write(err);
  const common = { onOutput, onError, color: "never" as const };
  switch (args.command) {
    case "preview":
      await stack.preview({ ...common, diff: false });
      break;
    case "up":
      await stack.up(common);
      break;
    case "refresh":
      await stack.refresh(common);
      break;
    case "destroy":
      await stack.destroy(common);
      break;
  }
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e: unknown) => {
      // The engine's messages were streamed above; the Automation API's error repeats all of its
      // output and command line, so only its first line is added here.
      const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      process.stderr.write(
        `pulumi ${process.argv[2]} failed (the engine's messages are above): ${msg}\n`,
      );
      process.exit(1);
    },
  );
}
