// The browser's stand-in for node:async_hooks, which the kernel imports for one thing: which
// green thread makes a Dk call (host/kernel/threads.ts). The browser has no asynchronous
// context, so this one carries the store only through the synchronous part of run(). The
// library OS never creates threads (DkThreadCreate has no caller there), so every call of a
// browser picoprocess is its main thread's, which is what getStore() answering undefined
// means. scripts/build-browser.ts maps node:async_hooks here; any other Node module fails it.

export class AsyncLocalStorage<T> {
  private store: T | undefined = undefined;

  getStore(): T | undefined {
    return this.store;
  }

  run<R>(store: T, fn: (...args: unknown[]) => R, ...args: unknown[]): R {
    const before = this.store;
    this.store = store;
    try {
      return fn(...args);
    } finally {
      this.store = before;
    }
  }
}
