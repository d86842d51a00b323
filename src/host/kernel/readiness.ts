// Readiness events: what DkStreamGetEvent hands out. A ReadinessEvent is a view on a stream:
// signalled while the stream can do that side (read/write) without WOULD_BLOCK. The stream
// keeps a ReadinessHub and calls changed() after every change of state that may matter;
// the hub costs one null check when nobody listens (stream reads/writes are hot paths).

import { StreamSide } from '../../abi/dk.ts';
import { KObject } from './kobject.ts';

export interface ReadySource {
  /** side READ, WRITE, or BOTH (either of them). */
  isReady(side: number): boolean;
}

export class ReadinessEvent extends KObject {
  readonly kind = 'event';
  private readonly source: ReadySource;
  private readonly side: number;
  private readonly hub: ReadinessHub;

  constructor(source: ReadySource, side: number, hub: ReadinessHub) {
    super();
    this.source = source;
    this.side = side;
    this.hub = hub;
  }
  override isSignalled(): boolean {
    return this.source.isReady(this.side);
  }
  /** Called by the hub: the source's state may have changed. */
  changed(): void {
    this.notify();
  }
  override release(): void {
    this.hub.unsubscribe(this);
  }
}

export class ReadinessHub {
  private subscribers: Set<ReadinessEvent> | null = null;
  private readonly source: ReadySource;
  /** Called when the first subscriber arrives (a stream may start reading on demand). */
  onDemand: (() => void) | null = null;

  constructor(source: ReadySource) {
    this.source = source;
  }

  /** A new event for side (StreamSide.READ, WRITE or BOTH). */
  event(side: number): ReadinessEvent {
    const ev = new ReadinessEvent(this.source, side, this);
    (this.subscribers ??= new Set()).add(ev);
    if (this.onDemand !== null && side !== StreamSide.WRITE) this.onDemand();
    return ev;
  }
  unsubscribe(ev: ReadinessEvent): void {
    this.subscribers?.delete(ev);
  }
  changed(): void {
    if (this.subscribers === null || this.subscribers.size === 0) return;
    for (const ev of this.subscribers) ev.changed();
  }
}

/** For streams that are always ready (files, null:): an event that is always set. */
export class AlwaysReady extends KObject {
  readonly kind = 'event';
  override isSignalled(): boolean {
    return true;
  }
}
