// A TCP connection on the loopback network: two ends, each delivering what it is written into
// the other's receive queue. The other end is a LoopbackSocket (a guest's accepted connection)
// or the host's own HTTP engine (host/memory/net/http.ts): anything that can take bytes.

import { DkError } from '../../../abi/errors.ts';
import type { DkResult } from '../../../abi/dk.ts';
import { SocketStream } from '../../kernel/net/socket.ts';

/** Bytes in flight one way before the writer gets WOULD_BLOCK (a socket buffer's size). */
export const LOOPBACK_WINDOW = 256 * 1024;

/** What one end of a loopback connection needs of the other. */
export interface LoopbackPeer {
  /** The other end is gone: writes to it fail. */
  readonly gone: boolean;
  /** Bytes it holds unread (flow control: at most LOOPBACK_WINDOW). */
  readonly buffered: number;
  /** It shut its reading half: what is sent is dropped, the sender never blocks. */
  readonly readShutNow: boolean;
  /** Take bytes (a copy the receiver owns). */
  deliver(chunk: Uint8Array): void;
  /** End of stream from this side. */
  ended(): void;
  /** The sender's state changed (it read something: there may be room to send again). */
  changed(): void;
}

export class LoopbackSocket extends SocketStream implements LoopbackPeer {
  peer: LoopbackPeer | null = null;

  get gone(): boolean {
    return this.released;
  }
  get readShutNow(): boolean {
    return this.readShut;
  }

  protected send(data: Uint8Array): DkResult<number> {
    const peer = this.peer;
    if (peer === null || peer.gone) return DkError.BROKEN_PIPE;
    const n = Math.min(data.length, LOOPBACK_WINDOW - peer.buffered);
    if (n <= 0) return DkError.WOULD_BLOCK;
    peer.deliver(data.slice(0, n)); // a copy: the guest reuses its buffer
    return n;
  }
  protected canSend(): boolean {
    const peer = this.peer;
    return peer === null || peer.gone || peer.readShutNow || peer.buffered < LOOPBACK_WINDOW;
  }
  protected override inputTaken(): void {
    this.peer?.changed(); // the writer may have room again
  }
  protected pauseInput(): void {}
  protected resumeInput(): void {}
  protected endOutput(): void {
    this.peer?.ended();
  }
  protected destroy(): void {
    const peer = this.peer;
    this.peer = null;
    if (peer !== null) {
      peer.ended();
      peer.changed();
    }
  }
}
