// A RawConfig over plain values, as Pulumi's Config gives them: get() a string (objects as
// JSON), getObject() the value, has() true for a value given or a secret listed as "set".
import type { RawConfig } from "../../../src/config";

export function rawConfig(values: Record<string, unknown>, secrets: string[] = []): RawConfig {
  return {
    get: (k) =>
      values[k] === undefined
        ? undefined
        : typeof values[k] === "string"
          ? (values[k] as string)
          : JSON.stringify(values[k]),
    getObject: <T>(k: string) => values[k] as T | undefined,
    has: (k) => secrets.includes(k) || values[k] !== undefined,
  };
}
