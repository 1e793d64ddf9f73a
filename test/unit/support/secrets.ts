// Pulumi's wire form of a secret value, as mocks receive it in resource inputs.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export function isWireSecret(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE
  );
}

export function unwrapSecret(v: unknown): unknown {
  return isWireSecret(v) ? (v as { value: unknown }).value : v;
}

/** Paths at which any of `needles` occurs in `value` outside a Pulumi secret. */
export function clearOccurrences(value: unknown, needles: string[], path = "$"): string[] {
  if (isWireSecret(value)) return [];
  if (typeof value === "string") return needles.some((n) => value.includes(n)) ? [path] : [];
  if (Array.isArray(value))
    return value.flatMap((v, i) => clearOccurrences(v, needles, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => clearOccurrences(v, needles, `${path}.${k}`));
  }
  return [];
}
