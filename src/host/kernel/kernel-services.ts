// What a picoprocess needs from its host kernel (kernel.ts): the services every picoprocess
// of one host shares. On its own so that the picoprocess (process-state.ts) and the kernel
// that makes it can both name it without importing each other.

import type { Picoprocess } from './host.ts';
import type { Platform } from './platform.ts';
import type { PipeRegistry } from './pipes.ts';
import type { NetworkDriver } from './net/driver.ts';
import type { FrameBufferUpdate } from './devices.ts';

/** What a picoprocess needs from its host kernel. */
export interface KernelServices {
  readonly platform: Platform;
  readonly pipes: PipeRegistry;
  /** What tcp:, tcp.server:, udp:, dns:, http.server: open (net-driver.ts). */
  readonly network: NetworkDriver;
  frameBufferUpdated(update: FrameBufferUpdate): void;
  processExited(process: Picoprocess): void;
}
