// The errors of the public API (src/index.ts): one class an embedder can catch, with a code
// that says what went wrong, made from the runtime's own errors so that their one-line
// messages reach the embedder unchanged.

import { ModuleError } from '../runtime/module-cache.ts';
import { GuestError, PreopenError } from '../libos/index.ts';
import { MemoryLimitError } from '../runtime/quotas.ts';
import { PrepareError } from '../runtime/prepare.ts';
import { SnapshotError } from '../checkpoint/snapshot.ts';
import { KeyError } from '../checkpoint/seal.ts';
import { ApiError } from '../server/client.ts';

/**
 * What a {@link DrawbridgeError} is about:
 * - `module`: the module cannot be read, is not WebAssembly, or does not match its pin;
 * - `guest`: the module cannot run as a WASI command (an unsupported import, no `_start`);
 * - `grants`: the options or the manifest grant something malformed, or a pre-opened directory cannot be opened;
 * - `memory`: the module needs more memory than the manifest's `limits.memory`;
 * - `prepare`: the module could not be prepared for checkpoints when that was required;
 * - `snapshot`: a snapshot cannot be restored (not sealed, sealed by another key, not granted, malformed);
 * - `key`: the host key cannot be read or made;
 * - `checkpoint`: the picoprocess cannot be checkpointed (not prepared, or it has ended);
 * - `stdio`: standard input or output cannot be used as asked (stdin not piped, output past `maxBuffer`);
 * - `node`: this Node.js cannot run picoprocesses (it needs Node.js 24 or later);
 * - `serve`: a `drawbridge serve` daemon refused a request or cannot be reached ({@link ServeError}).
 */
export type DrawbridgeErrorCode = 'module' | 'guest' | 'grants' | 'memory' | 'prepare' | 'snapshot' | 'key' | 'checkpoint' | 'stdio' | 'node' | 'serve';

/** Every error the public API throws: a one-line message that says what to do, and its {@link DrawbridgeErrorCode}. */
export class DrawbridgeError extends Error {
  /** What the error is about. */
  readonly code: DrawbridgeErrorCode;
  /**
   * @param code - what the error is about
   * @param message - one line
   * @param options - the error it was made from, as `cause`
   */
  constructor(code: DrawbridgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = 'DrawbridgeError';
    this.code = code;
  }
}

/** A request a `drawbridge serve` daemon refused (`status` is its HTTP status), or one that could not reach it (`status` 0). */
export class ServeError extends DrawbridgeError {
  /** The daemon's HTTP status; 0 when no answer came (no daemon found, connection refused). */
  readonly status: number;
  /**
   * @param status - the HTTP status, 0 when the daemon was not reached
   * @param message - one line
   * @param options - the error it was made from, as `cause`
   */
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super('serve', message, options);
    this.name = 'ServeError';
    this.status = status;
  }
}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, '; ').trim();
}

/** The public error for an error the runtime threw; anything else (a bug) is passed on as it is. */
export function publicError(e: unknown): unknown {
  if (e instanceof DrawbridgeError) return e;
  if (e instanceof ApiError) return new ServeError(e.status, e.message, { cause: e });
  const code: DrawbridgeErrorCode | null =
    e instanceof ModuleError
      ? 'module'
      : e instanceof PreopenError
        ? 'grants'
        : e instanceof GuestError
          ? 'guest'
          : e instanceof MemoryLimitError
            ? 'memory'
            : e instanceof PrepareError
              ? 'prepare'
              : e instanceof SnapshotError
                ? 'snapshot'
                : e instanceof KeyError
                  ? 'key'
                  : null;
  if (!code) return e;
  const message = code === 'snapshot' || code === 'key' ? inApiTerms((e as Error).message) : (e as Error).message;
  return new DrawbridgeError(code, message, { cause: e });
}

/** The CLI's flags that the checkpoint code's messages name, as the options of the API that do the same. */
const FLAG_OPTIONS: [RegExp, string][] = [
  [/--trust-unsealed/g, 'trustUnsealed: true'],
  [/--ignore-measurement/g, 'ignoreMeasurement: true'],
  [/--key FILE/g, 'keyFiles: [FILE]'],
  [/--dir (\S+)/g, "dirs: ['$1']"],
  [/--connect (\S+)/g, "connect: ['$1']"],
  [/--listen (\S+)/g, "listen: ['$1']"],
];

function inApiTerms(message: string): string {
  return FLAG_OPTIONS.reduce((m, [flag, option]) => m.replace(flag, option), message);
}

/** Run `fn`, throwing the public error for what it throws. */
export async function publicErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw publicError(e);
  }
}
