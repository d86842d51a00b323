// Streams every host shares: null: and the standard streams that are not 'inherit'
// (a fixed Uint8Array as stdin, a callback as stdout/stderr, 'null').

import type { DkResult, StreamAttributes } from '../../abi/dk.ts';
import { DkError } from '../../abi/errors.ts';
import { StreamObject, type KObject } from './kobject.ts';
import { AlwaysReady } from './readiness.ts';
import { copyBytes } from './bytes.ts';

export function charDeviceAttributes(readable: boolean, writable: boolean, size = 0, kind: 'char-device' | 'pipe' = 'char-device'): StreamAttributes {
  return {
    kind,
    size,
    readable,
    writable,
    dev: 0n,
    ino: 0n,
    nlink: 1n,
    atimeNs: 0n,
    mtimeNs: 0n,
    ctimeNs: 0n,
  };
}

/** null: reads end of stream at once, writes are swallowed whole. */
export class NullStream extends StreamObject {
  readonly kind = 'char-device';
  readonly uri: string;
  constructor(uri = 'null:') {
    super();
    this.uri = uri;
  }
  override read(_offset: number, _buffer: Uint8Array): DkResult<number> {
    return 0;
  }
  override write(_offset: number, data: Uint8Array): DkResult<number> {
    return data.length;
  }
  override flush(): DkResult<0> {
    return 0;
  }
  override readiness(_side: number): DkResult<KObject> {
    return new AlwaysReady();
  }
  override isSignalled(): boolean {
    return true;
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(true, true);
  }
}

/** stdin from fixed bytes: read in order, then end of stream. Shared position. */
export class BytesSource extends StreamObject {
  // Bytes handed over by the embedder behave as a pipe would (not a terminal).
  readonly kind = 'pipe';
  readonly uri = 'stdin:';
  private readonly bytes: Uint8Array;
  private pos = 0;
  constructor(bytes: Uint8Array) {
    super();
    this.bytes = bytes.slice(); // the caller may reuse its buffer
  }
  override read(_offset: number, buffer: Uint8Array): DkResult<number> {
    const left = this.bytes.length - this.pos;
    const n = buffer.length < left ? buffer.length : left;
    copyBytes(buffer, 0, this.bytes, this.pos, n);
    this.pos += n;
    return n;
  }
  override readiness(_side: number): DkResult<KObject> {
    return new AlwaysReady();
  }
  override isSignalled(): boolean {
    return true;
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(true, false, this.bytes.length - this.pos, 'pipe');
  }
}

/** stdout/stderr into a callback. The callback gets a copy: the data is often a view of guest memory. */
export class CallbackSink extends StreamObject {
  // Output captured by the embedder behaves as a pipe would (not a terminal).
  readonly kind = 'pipe';
  readonly uri: string;
  private readonly sink: (bytes: Uint8Array) => void;
  constructor(uri: string, sink: (bytes: Uint8Array) => void) {
    super();
    this.uri = uri;
    this.sink = sink;
  }
  override write(_offset: number, data: Uint8Array): DkResult<number> {
    if (data.length === 0) return 0;
    try {
      this.sink(data.slice());
    } catch {
      // A throwing sink is the embedder's bug; the guest still wrote its bytes.
    }
    return data.length;
  }
  override flush(): DkResult<0> {
    return 0;
  }
  override readiness(_side: number): DkResult<KObject> {
    return new AlwaysReady();
  }
  override attributes(): DkResult<StreamAttributes> {
    return charDeviceAttributes(false, true, 0, 'pipe');
  }
}

/**
 * reset: a connection whose peer is gone without a goodbye: every read and write answers
 * CONNECTION_RESET. What a connected socket becomes when its picoprocess is restored or
 * migrated and the peer could not follow.
 */
export class ResetStream extends StreamObject {
  readonly kind = 'socket';
  readonly uri = 'reset:';
  override read(_offset: number, _buffer: Uint8Array): DkResult<number> {
    return DkError.CONNECTION_RESET;
  }
  override write(_offset: number, _data: Uint8Array): DkResult<number> {
    return DkError.CONNECTION_RESET;
  }
  override readiness(_side: number): DkResult<KObject> {
    return new AlwaysReady();
  }
  override isSignalled(): boolean {
    return true;
  }
  override attributes(): DkResult<StreamAttributes> {
    return { ...charDeviceAttributes(true, true), kind: 'socket' };
  }
}
