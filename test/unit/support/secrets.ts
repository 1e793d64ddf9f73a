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
