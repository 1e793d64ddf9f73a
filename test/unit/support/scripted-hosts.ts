// A scripted HostRunner: stages run against it in unit tests, without root or hosts. Each
// command is answered by `answer(host, command)`; queries asked in one round trip (shell.ts
// `sectioned`) are taken apart and answered one by one, so a script sees plain command lines.
import type { CommandOptions, ExecResult, HostRunner } from "../../../src/install/host-runner";
import { RemoteCommandError } from "../../../src/install/ssh";
import type { StageFile } from "../../../src/install/upload";

export type Answer = (host: string, command: string) => ExecResult | Promise<ExecResult>;

export const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
export const fail = (code: number, stdout = "", stderr = ""): ExecResult => ({
  code,
  stdout,
  stderr,
});

const SECTION =
  /echo '?@@arrowhead-section (\w+)'?; \( (.*?) \) 2>&1; echo "@@arrowhead-status \$\?"/g;

export class ScriptedHosts implements HostRunner {
  /** Every command line asked, as `host: command` (sectioned queries one by one). */
  readonly asked: { host: string; step: string; command: string }[] = [];
  readonly uploads: { host: string; files: StageFile[] }[] = [];
  /** Answers `readFile` (host -> path -> content). */
  readonly files = new Map<string, Map<string, string>>();

  constructor(public answer: Answer) {}

  async run(host: string, step: string, command: string, o: CommandOptions = {}) {
    o.sending?.();
    const sections = [...command.matchAll(SECTION)];
    if (sections.length === 0) {
      const r = await this.one(host, step, command);
      // As SshSession.exec: a failure rejects unless the caller checks the status itself.
      if (r.code !== 0 && o.check !== false)
        throw new RemoteCommandError(host, step, command, r, (t) => t);
      return r;
    }
    let out = "";
    for (const [, name, line] of sections) {
      const r = await this.one(host, step, line);
      out += `@@arrowhead-section ${name}\n${r.stdout}${r.stderr}\n@@arrowhead-status ${r.code}\n`;
    }
    return ok(out);
  }

  private async one(host: string, step: string, command: string): Promise<ExecResult> {
    this.asked.push({ host, step, command });
    return this.answer(host, command);
  }

  async upload(host: string, _step: string, files: StageFile[]): Promise<number> {
    this.uploads.push({ host, files });
    return files.length;
  }

  async readFile(host: string, _step: string, path: string): Promise<string | undefined> {
    return this.files.get(host)?.get(path);
  }

  close(): void {}
}
