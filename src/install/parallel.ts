// Work that runs side by side on several hosts: every piece finishes (or fails) before the
// errors are reported, so nothing is left running behind a failure and a re-run has less to do.

/** Throw the errors of work that ran side by side: the one error as is, several as one. */
export function throwAll(errors: Error[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    const e = new Error(errors.map((x) => x.message).join("\n"));
    (e as Error & { errors: Error[] }).errors = errors;
    throw e;
  }
}

/** Run `fn` for each host at once; all finish before the errors are thrown. */
export async function forHosts<T>(hosts: string[], fn: (h: string) => Promise<T>): Promise<T[]> {
  const settled = await Promise.allSettled(hosts.map(fn));
  throwAll(
    settled
      .filter((s): s is PromiseRejectedResult => s.status === "rejected")
      .map((s) => s.reason as Error),
  );
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
