// The kernel object behind a DkProcessCreate handle: signalled when the child exits.

import { KObject } from './kobject.ts';

export class ChildProcess extends KObject {
  readonly kind = 'process';
  exitCode: number | null = null;
  private readonly killFn: () => void;

  constructor(launched: { exited: Promise<number>; kill(): void }) {
    super();
    this.killFn = () => launched.kill();
    launched.exited.then(
      (code) => this.finish(typeof code === 'number' ? code : -1),
      () => this.finish(-1), // the launcher failed: report an abnormal exit, never throw
    );
  }
  override isSignalled(): boolean {
    return this.exitCode !== null;
  }
  finish(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    this.notify();
  }
  /** Ask the child to stop. Not called on the parent's exit: children outlive their parent. */
  kill(): void {
    try {
      this.killFn();
    } catch {
      // the launcher's problem; the child's handle still signals when it exits
    }
  }
}
