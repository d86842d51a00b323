// The Node.js host (PAL): the shared kernel on real clocks, timers, randomness, the real file
// system and the real standard streams.

import { HostKernel, type KernelHost } from '../kernel/kernel.ts';
import { NodePlatform } from './platform.ts';
import { NodeNetwork } from './net/driver.ts';

export type { KernelHost } from '../kernel/kernel.ts';

export function createNodeHost(): KernelHost {
  return new HostKernel('node', new NodePlatform(), new NodeNetwork());
}

// The buffered writer of the inherited standard streams: the CLI flushes it before exiting,
// and extensions that print (trace) share it so that their lines interleave in order.
export { flushInheritedOutput, output } from './output-buffer.ts';
