// Loading a provider implementation inside Pulumi's dynamic-provider process. That process is
// plain Node (pulumi-resource-pulumi-nodejs runs `node .../cmd/dynamic-provider`), without the
// program's TypeScript loader, so tsx's CommonJS hook is registered there first when needed.

/**
 * `require(file)` (an absolute path without extension), registering tsx first when this process
 * cannot load `.ts` files yet. tsx is resolved from `file`, so it comes from the project's own
 * node_modules whatever the process's working directory. Keeps the serialized provider closures
 * small: they capture a path, not the implementation. Errors: whatever loading the module throws.
 */
export function requireProviderModule<T>(file: string): T {
  const hooks = require.extensions as Record<string, unknown>;
  if (!hooks[".ts"]) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- only in the provider process
    require(require.resolve("tsx/cjs/api", { paths: [file] })).register();
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily: keeps the closure small
  return require(file) as T;
}
