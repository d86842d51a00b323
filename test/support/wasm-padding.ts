// A module made bigger without changing what it does: a custom section of zeros appended.
import { leb } from '../../src/wasm/binary.ts';

export function withPadding(base: Uint8Array, padBytes: number): Buffer {
  const name = Buffer.from('padding');
  const size = 1 + name.length + padBytes;
  return Buffer.concat([base, Buffer.from([0, ...leb(size), name.length]), name, Buffer.alloc(padBytes)]);
}
