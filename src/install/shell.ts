// Shell quoting for commands we build and send over SSH. Everything that reaches a remote shell
// from our inputs (paths, names, addresses) goes through `q`; secrets never do (they travel on
// stdin, see ssh.ts).

/** POSIX single-quote a word. */
export function q(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return "'" + word.replace(/'/g, "'\\''") + "'";
}

/** Join argv into a command line, quoting each word. */
export function argv(words: string[]): string {
  return words.map(q).join(" ");
}

/** Environment variable names we are willing to export into a remote shell. */
export function assertEnvName(name: string): void {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name))
    throw new Error(`invalid environment variable name "${name}"`);
}

/**
 * Several read-only queries in one remote command (one round trip instead of one each): each
 * query's output (stdout and stderr) follows a marker line and is followed by its exit status;
 * `splitSections` takes them apart again.
 */
const SECTION_MARK = "@@arrowhead-section ";
const STATUS_MARK = "@@arrowhead-status ";

export interface Section {
  out: string;
  code: number;
}

export function sectioned(queries: Record<string, string>): string {
  return Object.entries(queries)
    .map(
      ([name, cmd]) => `echo ${q(SECTION_MARK + name)}; ( ${cmd} ) 2>&1; echo "${STATUS_MARK}$?"`,
    )
    .concat("true") // each query's status is in the output; the command as a whole succeeds
    .join("; ");
}

export function splitSections(out: string): Record<string, Section> {
  const res: Record<string, Section> = {};
  let cur: Section | undefined;
  for (const line of out.split("\n")) {
    if (line.startsWith(SECTION_MARK)) {
      cur = { out: "", code: -1 };
      res[line.slice(SECTION_MARK.length).trim()] = cur;
    } else if (cur && line.startsWith(STATUS_MARK)) {
      cur.code = Number(line.slice(STATUS_MARK.length));
      cur = undefined;
    } else if (cur) {
      cur.out += cur.out === "" ? line : "\n" + line;
    }
  }
  return res;
}
