// The README's command blocks, read as a user reads them: tests run these very lines, so a
// README that stops working fails a test.
import * as fs from "node:fs";
import * as path from "node:path";

const README = path.resolve(__dirname, "..", "..", "README.md");

/**
 * The commands of the first ```sh block after the heading `heading` (e.g. "## Use"), one per
 * line, with trailing `# comments` and blank lines dropped. Throws when the heading or block is
 * missing, naming which.
 */
export function readmeCommands(heading: string, file = README): string[] {
  const text = fs.readFileSync(file, "utf8");
  const at = text.split("\n").findIndex((l) => l.trim() === heading);
  if (at < 0) throw new Error(`${file} has no heading "${heading}"`);
  const rest = text.split("\n").slice(at + 1);
  const start = rest.findIndex((l) => l.trim() === "```sh");
  if (start < 0) throw new Error(`${file}: no \`\`\`sh block after "${heading}"`);
  const end = rest.findIndex((l, i) => i > start && l.trim() === "```");
  return rest
    .slice(start + 1, end)
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** A README command line as argv: split on spaces (the README's commands use no quoting). */
export function argv(line: string): string[] {
  if (/["'`$\\|;&<>]/.test(line)) throw new Error(`not a plain command line: ${line}`);
  return line.split(/\s+/);
}
