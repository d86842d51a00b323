// The synchronisation objects: notification (manual-reset) events, synchronization
// (auto-reset) events and counting semaphores. State changes wake waiters, which re-check.

import { DkError } from '../../abi/errors.ts';
import type { DkResult } from '../../abi/dk.ts';
import { KObject } from './kobject.ts';

export abstract class EventObject extends KObject {
  readonly kind = 'event';
  protected state: boolean;

  constructor(initiallySet: boolean) {
    super();
    this.state = initiallySet;
  }
  override isSignalled(): boolean {
    return this.state;
  }
  set(): void {
    if (this.state) return;
    this.state = true;
    this.notify();
  }
  clear(): void {
    this.state = false;
  }
  peek(): boolean {
    return this.state;
  }
}

/** Manual reset: a set wakes every waiter and stays set until cleared. */
export class NotificationEvent extends EventObject {}

/** Auto reset: the wait it satisfies clears it, so one set wakes one waiter. */
export class SynchronizationEvent extends EventObject {
  override consume(): void {
    this.state = false;
  }
}

export class Semaphore extends KObject {
  readonly kind = 'semaphore';
  private count: number;
  readonly max: number;

  constructor(initial: number, max: number) {
    super();
    this.count = initial;
    this.max = max;
  }
  override isSignalled(): boolean {
    return this.count > 0;
  }
  override consume(): void {
    this.count--;
  }
  peek(): number {
    return this.count;
  }
  /** Adds n; returns the previous count, or OVERFLOW (count unchanged) past max. */
  add(n: number): DkResult<number> {
    const previous = this.count;
    if (n > this.max - previous) return DkError.OVERFLOW;
    this.count = previous + n;
    if (n > 0) this.notify();
    return previous;
  }
}
