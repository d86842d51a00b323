/**
 * drawbridge as a library: run WebAssembly (WASI preview 1) programs as picoprocesses in this
 * Node.js process, each granted only what its caller grants; checkpoint and restore them; and
 * drive a running `drawbridge serve` daemon. This is the package's one Node entry (its
 * `exports["."]`); everything under it is the runtime's own and may change.
 *
 * ```ts
 * import { run } from 'drawbridge-host';
 * const r = await run({ module: 'hello.wasm', args: ['hello', 'you'] });
 * ```
 *
 * Needs Node.js 24 or later (WebAssembly JSPI).
 *
 * @packageDocumentation
 */

export { run, start, restore, Picoprocess } from './api/picoprocess.ts';
export type { ExitStatus, RunResult, StartOptions, RestoreOptions, CheckpointOptions, StdioOptions } from './api/picoprocess.ts';
export type { Grants, DirGrant, StdinOption, OutputOption } from './api/options.ts';
export { ServeClient } from './api/serve-client.ts';
export type { ServeClientOptions, ServeProcessInfo, ServeSpawnOptions, ServeSpawned, OutputStream } from './api/serve-client.ts';
export { DrawbridgeError, ServeError } from './api/errors.ts';
export type { DrawbridgeErrorCode } from './api/errors.ts';
