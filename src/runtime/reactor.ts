// Reactor modules (`_initialize` plus exported functions, e.g. Ruby's ruby.wasm): the
// library API instantiates one as a picoprocess and calls its exports under JSPI, so an
// export that waits suspends like a command would.

import { GuestError } from '../libos/index.ts';
import { exitStatusOf, instantiate, type ExitStatus, type PicoprocessOptions } from './picoprocess.ts';

export interface Reactor {
  readonly exports: WebAssembly.Exports;
  readonly memory: WebAssembly.Memory;
  /** Call an exported function (numbers and bigints in, its result out). */
  call(name: string, ...args: unknown[]): Promise<unknown>;
  /** Close the picoprocess: its descriptors and handles. */
  close(code?: number): void;
}

export class ReactorExit extends Error {
  readonly status: ExitStatus;
  constructor(status: ExitStatus) {
    super(status.error ?? `the reactor exited with status ${status.exitCode}`);
    this.status = status;
  }
}

export async function loadReactor(options: PicoprocessOptions): Promise<Reactor> {
  const { process, libos, instance } = await instantiate(options);
  const exports = instance.exports;
  const call = async (name: string, ...args: unknown[]): Promise<unknown> => {
    const fn = exports[name];
    if (typeof fn !== 'function') throw new GuestError(`the module exports no function ${name}`);
    try {
      return await WebAssembly.promising(fn as (...a: any[]) => any)(...args);
    } catch (e) {
      throw new ReactorExit(exitStatusOf(e));
    }
  };
  if (typeof exports._initialize === 'function') await call('_initialize');
  return {
    exports,
    memory: exports.memory as WebAssembly.Memory,
    call,
    close(code = 0) {
      libos.close();
      process.kill(code);
    },
  };
}
