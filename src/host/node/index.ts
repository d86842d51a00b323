// The Node.js host (PAL): the shared kernel on real clocks, timers, randomness, the real file
// system and the real standard streams.

import { HostKernel, type KernelHost } from '../common/kernel.ts';
import { NodePlatform } from './platform.ts';
import { NodeNetwork } from './net-driver.ts';

export type { KernelHost } from '../common/kernel.ts';

export function createNodeHost(): KernelHost {
  return new HostKernel('node', new NodePlatform(), new NodeNetwork());
}
