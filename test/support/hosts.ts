// The hosts every conformance test runs against: the same Dk semantics on both.
import { createNodeHost } from '../../src/host/node/index.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import type { KernelHost } from '../../src/host/kernel/kernel.ts';

export const HOSTS: { name: string; create(): KernelHost }[] = [
  { name: 'node', create: () => createNodeHost() },
  { name: 'memory', create: () => createMemoryHost() },
];
