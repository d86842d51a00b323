// The extension API (Bascule): an extension is a Dk-to-Dk layer. A factory takes the layer
// below and its options and returns the Dk the layer above calls, optionally with state that
// joins a checkpoint. Extensions see only the ABI (lint rule): whatever I/O they need (a trace
// file, a record log) is handed to them through an ExtensionHost by the runtime or the CLI.
//
// `wrapDk` is the generic machinery: it builds a whole Dk from PRIMITIVES (abi/spec.ts) and
// two hooks, so no extension writes per-call boilerplate; blocking primitives (the ones that
// return a Promise) are handled once, here.

import type { Dk, DkMethod } from '../abi/dk.ts';
import { PRIMITIVES, type PrimitiveSpec } from '../abi/spec.ts';
import { HALTED_EXIT_CODE } from '../abi/exit-status.ts';

/** Options as `--ext NAME:k=v,k=v` or the manifest's `options = { ... }` give them. */
export type ExtensionOptions = Readonly<Record<string, string>>;

/** Where an extension writes text (a trace, a record log). */
export interface TextSink {
  write(text: string): void;
  /** Flush and release (called once, when the run ends). */
  close?(): void;
}

/** The I/O an extension may use, given to it by whoever loads it (runtime, CLI, a test). */
export interface ExtensionHost {
  /** A sink for text: the named file (created or truncated), or the host's stderr when no name. */
  output(file?: string): TextSink;
  /** The whole text of a file (e.g. a replay log); throws ExtensionError when unreadable. */
  readText(file: string): string;
}

/** State that joins a checkpoint: plain JSON data. */
export interface ExtensionState {
  save(): unknown;
  restore(data: unknown): void;
}

export interface ExtensionInstance {
  dk: Dk;
  state?: ExtensionState;
  /** Called once when the picoprocess has ended (flush logs, report). */
  close?(): void;
}

/** What an extension module exports (as `default` or `createExtension`). */
export type ExtensionFactory = (lower: Dk, options: ExtensionOptions, host: ExtensionHost) => Dk | ExtensionInstance;

/** A mistake in how an extension was asked for (unknown name, bad option): not the guest's fault. */
export class ExtensionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtensionError';
  }
}

/** Refuses options an extension does not know (a typo must not pass silently). */
export function checkOptions(name: string, options: ExtensionOptions, known: ReadonlySet<string>): void {
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new ExtensionError(`${name}: unknown option "${key}" (known: ${[...known].join(', ')})`);
  }
}

/**
 * Thrown by an extension to end the run on purpose (replay divergence). The runtime turns it
 * into the picoprocess's exit status with the message; it is never the guest's doing.
 */
export class ExtensionHalt extends Error {
  readonly exitCode: number;
  /** The run ended because a checkpoint stopped it (durable.ts): not an error, nothing to say. */
  readonly checkpointed: boolean;
  constructor(message: string, exitCode = HALTED_EXIT_CODE, checkpointed = false) {
    super(message);
    this.name = 'ExtensionHalt';
    this.exitCode = exitCode;
    this.checkpointed = checkpointed;
  }
}

// ---------------------------------------------------------------------------------------------
// The generic wrapper

/** One call as the hooks see it. */
export interface Call {
  readonly spec: PrimitiveSpec;
  /** The arguments; `before` may replace entries (remap rewrites URIs). */
  readonly args: unknown[];
  /** Free for the hooks (a start time, a sequence number). */
  note: unknown;
}

/** Returned by `before` to let the call go on to the layer below. */
export const PASS: unique symbol = Symbol('PASS');

export interface Hooks {
  /** Which primitives to hook; the others go straight to the layer below at no cost. */
  only?: (spec: PrimitiveSpec) => boolean;
  /**
   * Runs before the layer below. Return PASS to call it, or the answer to give instead (for a
   * blocking primitive, a value or a Promise of one).
   */
  before?(call: Call): unknown;
  /** Sees the result the call gives (the layer below's or before's answer); returns the one to give up. */
  after?(call: Call, result: unknown): unknown;
}

type AnyFn = (...args: unknown[]) => unknown;

/** A Dk whose every hooked primitive runs `before`, the layer below (unless answered), `after`. */
export function wrapDk(lower: Dk, hooks: Hooks): Dk {
  const dk: Partial<Record<DkMethod, AnyFn>> = {};
  for (const spec of PRIMITIVES) {
    const lowerFn = (lower[spec.method] as AnyFn).bind(lower);
    if (hooks.only && !hooks.only(spec)) {
      dk[spec.method] = lowerFn;
      continue;
    }
    dk[spec.method] = wrapOne(spec, lowerFn, hooks);
  }
  return dk as Dk;
}

function wrapOne(spec: PrimitiveSpec, lowerFn: AnyFn, hooks: Hooks): AnyFn {
  const { before, after } = hooks;
  if (spec.blocking) {
    return (...args: unknown[]): Promise<unknown> => {
      const call: Call = { spec, args, note: undefined };
      const answer = before ? before(call) : PASS;
      const result = Promise.resolve(answer === PASS ? lowerFn(...call.args) : answer);
      return after ? result.then((r) => after(call, r)) : result;
    };
  }
  return (...args: unknown[]): unknown => {
    const call: Call = { spec, args, note: undefined };
    const answer = before ? before(call) : PASS;
    const result = answer === PASS ? lowerFn(...call.args) : answer;
    return after ? after(call, result) : result;
  };
}

/** A factory's result as an instance. */
export function asInstance(made: Dk | ExtensionInstance): ExtensionInstance {
  return typeof (made as Dk).streamOpen === 'function' ? { dk: made as Dk } : (made as ExtensionInstance);
}
