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
