// The host kernel: what all picoprocesses of one host share. Process ids, the pipe
// namespace, and the hooks an embedder uses to drive devices (input in, frames out).
// A host (PAL) is this kernel plus a Platform; see host/node and host/memory.

import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import type { Host, Picoprocess, ProcessOptions } from './host.ts';
import type { Platform } from './platform.ts';
import { PipeRegistry } from './pipes.ts';
import { DkProcess } from './process.ts';
import { NoNetwork, type NetworkDriver } from './net/driver.ts';
import type { FrameBufferListener, FrameBufferUpdate, InputEvent } from './devices.ts';
import type { KernelServices } from './kernel-services.ts';

export type { FrameBufferListener, FrameBufferUpdate, InputEvent } from './devices.ts';
export type { KernelServices } from './kernel-services.ts';

/** A Host with the device hooks of this kernel. */
export interface KernelHost extends Host {
  /** Queue an input event for a picoprocess (by object or id): what DkInputEventRead returns. */
  injectInput(target: Picoprocess | number, event: InputEvent): DkResult<0>;
  /** Receives every DkFrameBufferNotifyUpdate (null: stop). */
  onFrameBufferUpdate(listener: FrameBufferListener | null): void;
  /** A running picoprocess by id. */
  process(id: number): Picoprocess | undefined;
}

export class HostKernel implements KernelHost, KernelServices {
  readonly name: string;
  readonly platform: Platform;
  readonly pipes = new PipeRegistry();
  readonly network: NetworkDriver;
  private readonly running = new Map<number, DkProcess>();
  private nextId = 1;
  private fbListener: FrameBufferListener | null = null;

  constructor(name: string, platform: Platform, network: NetworkDriver = new NoNetwork()) {
    this.name = name;
    this.platform = platform;
    this.network = network;
  }

  createProcess(options: ProcessOptions = {}): DkProcess {
    const p = new DkProcess(this, this.nextId++, options);
    this.running.set(p.id, p);
    return p;
  }
  process(id: number): Picoprocess | undefined {
    return this.running.get(id);
  }
  processExited(process: Picoprocess): void {
    this.running.delete(process.id);
  }

  injectInput(target: Picoprocess | number, event: InputEvent): DkResult<0> {
    const p = this.running.get(typeof target === 'number' ? target : target.id);
    if (p === undefined) return DkError.NOT_FOUND;
    if (typeof event !== 'object' || event === null) return DkError.INVALID_ARGUMENT;
    p.pushInput(event);
    return 0;
  }
  onFrameBufferUpdate(listener: FrameBufferListener | null): void {
    this.fbListener = listener;
  }
  frameBufferUpdated(update: FrameBufferUpdate): void {
    try {
      this.fbListener?.(update);
    } catch {
      // the display's bug must not surface in the guest
    }
  }
}
