// Helpers for our dynamic providers, which run in Pulumi's dynamic-provider process: plain Node
// (pulumi-resource-pulumi-nodejs runs `node .../cmd/dynamic-provider`), without the program's
// TypeScript loader, and answering the engine over gRPC.
import * as path from "path";

/** The watchdog that ends the provider process with the engine (loaded by path, see below). */
const ENGINE_WATCH = path.join(__dirname, "install", "engine-watch");

/**
 * `require(file)` (an absolute path without extension), registering tsx first when this process
 * cannot load `.ts` files yet. tsx is resolved from `file`, so it comes from the project's own
 * node_modules whatever the process's working directory. Keeps the serialized provider closures
 * small: they capture a path, not the implementation. In Pulumi's dynamic-provider host this is
 * where our code first runs, so it also starts the watchdog that stops our work and exits when
 * the engine goes away (engine-watch.ts; it does nothing in any other process). The watchdog is
 * required by path, so every serialized provider of the process shares the one module instance.
 * Errors: whatever loading the modules throws.
 */
export function requireProviderModule<T>(file: string): T {
  const hooks = require.extensions as Record<string, unknown>;
  if (!hooks[".ts"]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- only in the provider process
    require(require.resolve("tsx/cjs/api", { paths: [file] })).register();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- by path: one instance per process
  (require(ENGINE_WATCH) as typeof import("./install/engine-watch")).watchThisProvider();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: keeps the closure small
  return require(file) as T;
}

/**
 * The value without `undefined` anywhere (object members dropped, array items made null): what
 * the engine can carry. The dynamic-provider host turns outputs into a protobuf Struct, which
 * refuses `undefined` with "Unexpected struct type" and fails the resource (seen with the real
 * engine; Pulumi's mocks never serialize outputs). Input: JSON-like data; output: a copy.
 */
export function structSafe<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : structSafe(v))) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, structSafe(v)]),
    ) as T;
  }
  return value;
}
