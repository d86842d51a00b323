// Conformance of the host kernel: every primitive except the file ones (dk-files.test.ts),
// run against every host of test/support/hosts.ts, asserting real results: values, error codes,
// wake order, timeouts, pipe EOF/BROKEN_PIPE/backpressure, handle isolation, quotas.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOSTS } from '../support/hosts.ts';
import { DkError, dkErrorName, isDkError } from '../../src/abi/errors.ts';
import {
  Access,
  Clock,
  Create,
  INPUT_EVENT_SIZE,
  OpenOption,
  PixelFormat,
  Prot,
  StreamSide,
  type Dk,
  type DkResult,
  type LibOsUpcalls,
} from '../../src/abi/dk.ts';
import type { KernelHost } from '../../src/host/kernel/kernel.ts';
import type { Picoprocess } from '../../src/host/kernel/host.ts';
import type { FrameBufferUpdate } from '../../src/host/kernel/devices.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';

const RW = Access.READ | Access.WRITE;
const PAGE = 65536;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The value of a result, failing the test with the error's name if it is one. */
function ok<T>(r: DkResult<T>): T {
  if (isDkError(r)) assert.fail(`expected a value, got ${dkErrorName(r)}`);
  return r as T;
}
/** Assert a result is exactly this error. */
function err(r: unknown, code: number): void {
  assert.equal(r, code, `expected ${dkErrorName(code)}, got ${typeof r === 'number' ? dkErrorName(r) : String(r)}`);
}

/** Thread bodies keyed by param, and the exceptions dispatched, for a picoprocess. */
function withThreads(p: Picoprocess): {
  bodies: Map<number, () => Promise<void>>;
  exceptions: { thread: number; code: number; param: number }[];
} {
  const bodies = new Map<number, () => Promise<void>>();
  const exceptions: { thread: number; code: number; param: number }[] = [];
  const upcalls: LibOsUpcalls = {
    libOsInitialize() {},
    libOsThreadStart: (param) => bodies.get(param)!(),
    libOsExceptionDispatch: (info) => {
      exceptions.push({ ...info, param: p.dk.threadGetParameter() as number });
    },
  };
  p.setUpcalls(upcalls);
  return { bodies, exceptions };
}

for (const H of HOSTS) {
  const fresh = (opts?: Parameters<KernelHost['createProcess']>[0]): { host: KernelHost; p: Picoprocess; dk: Dk } => {
    const host = H.create();
    const p = host.createProcess(opts);
    return { host, p, dk: p.dk };
  };

  describe(`Dk kernel on the ${H.name} host`, () => {
    describe('virtual memory', () => {
      it('without memory attached: NO_MEMORY / INVALID_ARGUMENT', () => {
        const { dk } = fresh();
        err(dk.virtualMemoryAlloc(0, PAGE, Prot.READ), DkError.NO_MEMORY);
        err(dk.virtualMemoryFree(0, PAGE), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryProtect(0, PAGE, Prot.READ), DkError.INVALID_ARGUMENT);
      });

      it('alloc at 0 grows by whole pages; free zeroes; protect records; ranges are checked', () => {
        const { p, dk } = fresh();
        const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
        p.attachMemory(memory);
        const base = ok(dk.virtualMemoryAlloc(0, 100, Prot.READ | Prot.WRITE));
        assert.equal(base, PAGE);
        assert.equal(memory.buffer.byteLength, 2 * PAGE);
        const bytes = new Uint8Array(memory.buffer);
        bytes.fill(7, base, base + PAGE);
        assert.equal((p as unknown as { allocatedBytes: number }).allocatedBytes, PAGE);
        // Protect is recorded, not enforced.
        assert.equal(dk.virtualMemoryProtect(base, PAGE, Prot.READ), 0);
        assert.equal((p as unknown as { protectionAt(a: number): number }).protectionAt(base), Prot.READ);
        assert.equal(dk.virtualMemoryFree(base, PAGE), 0);
        assert.ok(new Uint8Array(memory.buffer, base, PAGE).every((b) => b === 0));
        assert.equal((p as unknown as { allocatedBytes: number }).allocatedBytes, 0);
        err(dk.virtualMemoryProtect(base, PAGE, Prot.READ), DkError.INVALID_ARGUMENT); // no longer committed
        // Re-commit in place: zeroed again, counted again.
        new Uint8Array(memory.buffer)[base] = 9;
        assert.equal(dk.virtualMemoryAlloc(base, PAGE, Prot.READ), base);
        assert.equal(new Uint8Array(memory.buffer)[base], 0);
        // Past the maximum: NO_MEMORY, memory unchanged.
        err(dk.virtualMemoryAlloc(0, 3 * PAGE, Prot.READ), DkError.NO_MEMORY);
        assert.equal(memory.buffer.byteLength, 2 * PAGE);
        // A hole past the end cannot be reserved.
        err(dk.virtualMemoryAlloc(3 * PAGE, PAGE, Prot.READ), DkError.NO_MEMORY);
        // Hostile ranges.
        err(dk.virtualMemoryAlloc(100, PAGE, Prot.READ), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryAlloc(0, 0, Prot.READ), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryAlloc(0, -5, Prot.READ), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryAlloc(0, PAGE, 64), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryAlloc(0, 1.5, Prot.READ), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryFree(2 * PAGE, PAGE), DkError.BAD_ADDRESS);
        err(dk.virtualMemoryFree(-PAGE, PAGE), DkError.INVALID_ARGUMENT);
        err(dk.virtualMemoryFree(2 ** 32, PAGE), DkError.BAD_ADDRESS);
        err(dk.virtualMemoryProtect(0, 2 ** 33, Prot.READ), DkError.BAD_ADDRESS);
      });
    });

    describe('threads', () => {
      it('DkThreadCreate needs the upcalls', () => {
        const { dk } = fresh();
        err(dk.threadCreate(1), DkError.NOT_SUPPORTED);
      });

      it('runs LibOsThreadStart(param) as a green thread; its handle is signalled at exit', async () => {
        const { p, dk } = fresh();
        const { bodies } = withThreads(p);
        const seen: number[] = [];
        bodies.set(42, async () => {
          seen.push(dk.threadGetParameter() as number);
          await dk.threadYieldExecution();
          seen.push(dk.threadGetParameter() as number);
        });
        const t = ok(dk.threadCreate(42));
        assert.deepEqual(seen, [], 'the thread starts after the creator has its handle');
        assert.equal(dk.threadGetParameter(), 0, 'the first thread has param 0');
        err(await dk.objectsWaitAny([t], 0n), DkError.TIMED_OUT);
        assert.equal(await dk.objectsWaitAny([t], null), 0);
        assert.deepEqual(seen, [42, 42]);
        assert.equal(dk.threadGetParameter(), 0);
        // A thread handle stays signalled: waiting again returns at once.
        assert.equal(await dk.objectsWaitAny([t], 0n), 0);
      });

      it('DkThreadExit signals the handle; later calls from that thread get EXITED', async () => {
        const { p, dk } = fresh();
        const { bodies } = withThreads(p);
        let after: unknown;
        let gate!: () => void;
        const proceed = new Promise<void>((r) => (gate = r));
        bodies.set(1, async () => {
          assert.equal(dk.threadExit(3), 0);
          await proceed;
          after = dk.threadGetParameter();
        });
        const t = ok(dk.threadCreate(1));
        assert.equal(await dk.objectsWaitAny([t], null), 0);
        gate();
        await new Promise((r) => setImmediate(r));
        assert.equal(after, DkError.EXITED);
        assert.equal(dk.threadGetParameter(), 0, 'other threads carry on');
      });

      it('DkThreadRaiseException dispatches on the target and interrupts its wait', async () => {
        const { p, dk } = fresh();
        const { bodies, exceptions } = withThreads(p);
        const ev = ok(dk.notificationEventCreate(false));
        const results: unknown[] = [];
        bodies.set(5, async () => {
          results.push(await dk.objectsWaitAny([ev], null));
          results.push(await dk.threadDelayExecution(3_600_000_000_000n));
        });
        const t = ok(dk.threadCreate(5));
        await dk.threadYieldExecution(); // let it block
        assert.equal(dk.threadRaiseException(t, 11), 0);
        await dk.threadYieldExecution();
        assert.equal(dk.threadRaiseException(t, 12), 0);
        assert.equal(await dk.objectsWaitAny([t], null), 0);
        assert.deepEqual(results, [DkError.INTERRUPTED, DkError.INTERRUPTED]);
        assert.deepEqual(exceptions, [
          { thread: t, code: 11, param: 5 },
          { thread: t, code: 12, param: 5 },
        ]);
        err(dk.threadRaiseException(t, 1), DkError.EXITED);
        err(dk.threadRaiseException(ev, 1), DkError.WRONG_HANDLE_TYPE);
        err(dk.threadRaiseException(999, 1), DkError.BAD_HANDLE);
      });

      it('DkThreadDelayExecution sleeps at least that long; bad durations are refused', async () => {
        const { dk } = fresh();
        const t0 = ok(dk.systemTimeQuery(Clock.MONOTONIC));
        assert.equal(await dk.threadDelayExecution(20_000_000n), 0);
        const t1 = ok(dk.systemTimeQuery(Clock.MONOTONIC));
        assert.ok(t1 - t0 >= 20_000_000n, `slept ${t1 - t0} ns`);
        err(await dk.threadDelayExecution(-1n), DkError.INVALID_ARGUMENT);
        err(await dk.threadDelayExecution(5 as unknown as bigint), DkError.INVALID_ARGUMENT);
        assert.equal(await dk.threadYieldExecution(), 0);
      });
    });

    describe('synchronisation', () => {
      it('notification events wake every waiter and stay set until cleared', async () => {
        const { dk } = fresh();
        const ev = ok(dk.notificationEventCreate(false));
        assert.equal(dk.eventPeek(ev), 0);
        const a = dk.objectsWaitAny([ev], null);
        const b = dk.objectsWaitAny([ev], null);
        assert.equal(dk.eventSet(ev), 0);
        assert.deepEqual(await Promise.all([a, b]), [0, 0]);
        assert.equal(dk.eventPeek(ev), 1);
        assert.equal(await dk.objectsWaitAny([ev], 0n), 0);
        assert.equal(dk.eventClear(ev), 0);
        assert.equal(dk.eventPeek(ev), 0);
        err(await dk.objectsWaitAny([ev], 0n), DkError.TIMED_OUT);
        assert.equal(dk.eventPeek(ok(dk.notificationEventCreate(true))), 1);
      });

      it('synchronization events wake one waiter per set, in FIFO order', async () => {
        const { dk } = fresh();
        const ev = ok(dk.synchronizationEventCreate(false));
        const order: string[] = [];
        const a = dk.objectsWaitAny([ev], null).then((r) => order.push(`a${r}`));
        const b = dk.objectsWaitAny([ev], null).then((r) => order.push(`b${r}`));
        dk.eventSet(ev);
        assert.equal(dk.eventPeek(ev), 0, 'consumed by the first waiter at once');
        await a;
        assert.deepEqual(order, ['a0']);
        dk.eventSet(ev);
        await b;
        assert.deepEqual(order, ['a0', 'b0']);
        // Set with nobody waiting: the next wait takes it, the one after times out.
        dk.eventSet(ev);
        assert.equal(await dk.objectsWaitAny([ev], 0n), 0);
        err(await dk.objectsWaitAny([ev], 0n), DkError.TIMED_OUT);
      });

      it('semaphores: release returns the previous count, OVERFLOW past max, a wait takes one', async () => {
        const { dk } = fresh();
        const s = ok(dk.semaphoreCreate(1, 3));
        assert.equal(dk.semaphorePeek(s), 1);
        assert.equal(dk.semaphoreRelease(s, 2), 1);
        assert.equal(dk.semaphorePeek(s), 3);
        err(dk.semaphoreRelease(s, 1), DkError.OVERFLOW);
        assert.equal(dk.semaphorePeek(s), 3, 'unchanged by an overflow');
        assert.equal(await dk.objectsWaitAny([s], 0n), 0);
        assert.equal(dk.semaphorePeek(s), 2);
        assert.equal(await dk.objectsWaitAny([s], null), 0);
        assert.equal(await dk.objectsWaitAny([s], null), 0);
        err(await dk.objectsWaitAny([s], 0n), DkError.TIMED_OUT);
        const w = dk.objectsWaitAny([s], null);
        assert.equal(dk.semaphoreRelease(s, 1), 0);
        assert.equal(await w, 0);
        assert.equal(dk.semaphorePeek(s), 0);
        err(dk.semaphoreCreate(4, 3), DkError.INVALID_ARGUMENT);
        err(dk.semaphoreCreate(-1, 3), DkError.INVALID_ARGUMENT);
        err(dk.semaphoreCreate(0, 0), DkError.INVALID_ARGUMENT);
        err(dk.semaphoreRelease(s, -1), DkError.INVALID_ARGUMENT);
        const ev = ok(dk.notificationEventCreate(false));
        err(dk.semaphoreRelease(ev, 1), DkError.WRONG_HANDLE_TYPE);
        err(dk.semaphorePeek(ev), DkError.WRONG_HANDLE_TYPE);
        err(dk.eventSet(s), DkError.WRONG_HANDLE_TYPE);
        err(dk.eventClear(s), DkError.WRONG_HANDLE_TYPE);
        err(dk.eventPeek(s), DkError.WRONG_HANDLE_TYPE);
        err(dk.eventSet(12345), DkError.BAD_HANDLE);
      });

      it('DkObjectsWaitAny: first signalled index, timeouts, polls, bad handles, bad lists', async () => {
        const { dk } = fresh();
        const a = ok(dk.notificationEventCreate(false));
        const b = ok(dk.notificationEventCreate(true));
        const c = ok(dk.notificationEventCreate(true));
        assert.equal(await dk.objectsWaitAny([a, b, c], 0n), 1);
        assert.equal(await dk.objectsWaitAny([a, c, b], null), 1);
        err(await dk.objectsWaitAny([a], 0n), DkError.TIMED_OUT);
        const t0 = ok(dk.systemTimeQuery(Clock.MONOTONIC));
        err(await dk.objectsWaitAny([a], 15_000_000n), DkError.TIMED_OUT);
        const t1 = ok(dk.systemTimeQuery(Clock.MONOTONIC));
        assert.ok(t1 - t0 >= 15_000_000n, `timed out after ${t1 - t0} ns`);
        // An empty list with a timeout is a sleep.
        err(await dk.objectsWaitAny([], 1_000_000n), DkError.TIMED_OUT);
        err(await dk.objectsWaitAny([], null), DkError.INVALID_ARGUMENT);
        err(await dk.objectsWaitAny([a, 777], null), DkError.BAD_HANDLE);
        err(await dk.objectsWaitAny([a, 0], 0n), DkError.BAD_HANDLE);
        err(await dk.objectsWaitAny([a, -1], 0n), DkError.BAD_HANDLE);
        err(await dk.objectsWaitAny([a, 1.5], 0n), DkError.BAD_HANDLE);
        err(await dk.objectsWaitAny([a], -1n), DkError.INVALID_ARGUMENT);
        err(await dk.objectsWaitAny('x' as unknown as number[], 0n), DkError.INVALID_ARGUMENT);
        // A later set wakes a wait on several objects with the right index.
        const w = dk.objectsWaitAny([a, ok(dk.notificationEventCreate(false))], 10_000_000_000n);
        dk.eventSet(a);
        assert.equal(await w, 0);
      });

      it('waits on a mix: event, thread, process, stream readiness', async () => {
        const { p, dk } = fresh({
          launcher: () => ({ exited: new Promise<number>((r) => setTimeout(() => r(4), 5)), kill() {} }),
        });
        const { bodies } = withThreads(p);
        const ev = ok(dk.notificationEventCreate(false));
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        bodies.set(9, () => gate);
        const t = ok(dk.threadCreate(9));
        const child = ok(dk.processCreate('file:/x.wasm', [], []));
        const end = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const readable = ok(dk.streamGetEvent(end, StreamSide.READ));
        const writable = ok(dk.streamGetEvent(end, StreamSide.WRITE));
        assert.equal(await dk.objectsWaitAny([ev, t, child, readable, writable], null), 4);
        const w = dk.objectsWaitAny([ev, t, child, readable], null);
        assert.equal(await w, 2, 'the child exits first');
        release();
        assert.equal(await dk.objectsWaitAny([ev, t, readable], null), 1);
        const peer = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(end)).peerUri!, RW, 0, 0));
        const w2 = dk.objectsWaitAny([ev, readable], null);
        dk.streamWrite(peer, -1, enc('x'));
        assert.equal(await w2, 1);
      });

      it('DkAbortEventRegister: Picoprocess.abort() sets the registered events', async () => {
        const { p, dk } = fresh();
        const ev = ok(dk.notificationEventCreate(false));
        assert.equal(dk.abortEventRegister(ev), 0);
        const w = dk.objectsWaitAny([ev], null);
        p.abort();
        assert.equal(await w, 0);
        err(dk.abortEventRegister(ok(dk.semaphoreCreate(0, 1))), DkError.WRONG_HANDLE_TYPE);
        err(dk.abortEventRegister(555), DkError.BAD_HANDLE);
        // Still registered after its handle is closed (another event sees the next abort).
        const ev2 = ok(dk.synchronizationEventCreate(false));
        dk.abortEventRegister(ev2);
        dk.objectClose(ev2);
        p.abort();
      });
    });

    describe('objects and handles', () => {
      it('DkObjectReference: a handle referenced twice needs two closes', () => {
        const { dk } = fresh();
        const ev = ok(dk.notificationEventCreate(false));
        assert.equal(dk.objectReference(ev), 0);
        assert.equal(dk.objectClose(ev), 0);
        assert.equal(dk.eventPeek(ev), 0, 'still open after one close');
        assert.equal(dk.objectClose(ev), 0);
        err(dk.eventPeek(ev), DkError.BAD_HANDLE);
        err(dk.objectClose(ev), DkError.BAD_HANDLE);
        err(dk.objectReference(ev), DkError.BAD_HANDLE);
        err(dk.objectClose(0), DkError.BAD_HANDLE);
        err(dk.objectClose(-3), DkError.BAD_HANDLE);
        err(dk.objectClose('1' as unknown as number), DkError.BAD_HANDLE);
      });

      it('handles are private to a picoprocess', () => {
        const host = H.create();
        const a = host.createProcess();
        const b = host.createProcess();
        assert.notEqual(a.id, b.id);
        const ev = ok(a.dk.notificationEventCreate(true));
        err(b.dk.eventPeek(ev), DkError.BAD_HANDLE);
        err(b.dk.objectClose(ev), DkError.BAD_HANDLE);
        const s = ok(b.dk.semaphoreCreate(0, 1));
        assert.equal(s, ev, 'same number, different object');
        err(b.dk.eventPeek(s), DkError.WRONG_HANDLE_TYPE);
        assert.equal(a.dk.eventPeek(ev), 1);
      });

      it('maxHandles: QUOTA_EXCEEDED past it, room again after a close', () => {
        const { dk } = fresh({ maxHandles: 2 });
        const a = ok(dk.notificationEventCreate(false));
        ok(dk.semaphoreCreate(0, 1));
        err(dk.notificationEventCreate(false), DkError.QUOTA_EXCEEDED);
        err(dk.streamOpen('pipe:', RW, 0, 0), DkError.QUOTA_EXCEEDED);
        err(dk.streamOpen('pipe.server:q', 0, Create.CREATE, 0), DkError.QUOTA_EXCEEDED);
        // The refused listen had no side effect: the name is still free.
        dk.objectClose(a);
        ok(dk.streamOpen('pipe.server:q', 0, Create.CREATE, 0));
      });
    });

    describe('streams', () => {
      it('null: reads end of stream, swallows writes', () => {
        const { dk } = fresh();
        const h = ok(dk.streamOpen('null:', RW, 0, 0));
        assert.equal(dk.streamRead(h, -1, new Uint8Array(8)), 0);
        assert.equal(dk.streamWrite(h, -1, enc('abc')), 3);
        assert.equal(ok(dk.streamAttributesQueryByHandle(h)).kind, 'char-device');
      });

      it('stdin:, stdout:, stderr: follow ProcessOptions', () => {
        const out: string[] = [];
        const errs: string[] = [];
        const { dk } = fresh({ stdin: enc('hello'), stdout: (b) => out.push(dec(b)), stderr: (b) => errs.push(dec(b)) });
        const i = ok(dk.streamOpen('stdin:', Access.READ, 0, 0));
        const buf = new Uint8Array(3);
        assert.equal(dk.streamRead(i, -1, buf), 3);
        assert.equal(dec(buf), 'hel');
        assert.equal(dk.streamRead(i, -1, buf), 2);
        assert.equal(dec(buf.subarray(0, 2)), 'lo');
        assert.equal(dk.streamRead(i, -1, buf), 0);
        const o = ok(dk.streamOpen('stdout:', Access.WRITE, 0, 0));
        const e = ok(dk.streamOpen('stderr:', Access.WRITE, 0, 0));
        const data = enc('out!');
        assert.equal(dk.streamWrite(o, -1, data), 4);
        data.fill(0); // the sink got a copy
        assert.equal(dk.streamWrite(e, -1, enc('err!')), 4);
        assert.deepEqual(out, ['out!']);
        assert.deepEqual(errs, ['err!']);
        err(dk.streamRead(o, -1, buf), DkError.WRONG_HANDLE_TYPE);
        // Defaults: null.
        const d = fresh().dk;
        assert.equal(d.streamRead(ok(d.streamOpen('stdin:', Access.READ, 0, 0)), -1, buf), 0);
        assert.equal(d.streamWrite(ok(d.streamOpen('stdout:', Access.WRITE, 0, 0)), -1, data), 4);
      });

      it('URIs: unknown or malformed is INVALID_ARGUMENT, network endpoints by URI NOT_SUPPORTED', () => {
        const { dk } = fresh();
        for (const uri of ['bogus:x', 'nocolon', ':x', '', 'null:extra', 'stdin:x', 'pipe:what']) {
          err(dk.streamOpen(uri, RW, 0, 0), DkError.INVALID_ARGUMENT);
        }
        // Network streams are test/host/net-dk.test.ts's; here: malformed ones, and no query by URI.
        for (const uri of ['tcp:127.0.0.1', 'tcp.server:0.0.0.0:80', 'udp:1.2.3.4', 'dns:', 'http.server:8080']) {
          err(dk.streamOpen(uri, RW, 0, 0), DkError.INVALID_ARGUMENT);
          err(dk.streamAttributesQuery(uri, 0), DkError.NOT_SUPPORTED);
        }
        err(dk.streamOpen(42 as unknown as string, RW, 0, 0), DkError.INVALID_ARGUMENT);
        err(dk.streamOpen('null:', 1024, 0, 0), DkError.INVALID_ARGUMENT);
        err(dk.streamOpen('null:', RW, -1, 0), DkError.INVALID_ARGUMENT);
        err(dk.streamOpen('null:', RW, 0, 4096), DkError.INVALID_ARGUMENT);
        err(dk.streamOpen('dev:nothing', RW, 0, 0), DkError.NOT_FOUND);
      });

      it('stream primitives check handles, kinds, offsets and buffers', () => {
        const { dk } = fresh();
        const ev = ok(dk.notificationEventCreate(false));
        const n = ok(dk.streamOpen('null:', RW, 0, 0));
        err(dk.streamRead(ev, -1, new Uint8Array(1)), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamWrite(ev, -1, new Uint8Array(1)), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamRead(99, -1, new Uint8Array(1)), DkError.BAD_HANDLE);
        err(dk.streamRead(n, -2, new Uint8Array(1)), DkError.INVALID_ARGUMENT);
        err(dk.streamRead(n, 0.5, new Uint8Array(1)), DkError.INVALID_ARGUMENT);
        err(dk.streamRead(n, -1, [1, 2] as unknown as Uint8Array), DkError.INVALID_ARGUMENT);
        err(dk.streamSetLength(n, 0), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamEnumerateChildren(n), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamRename(n, 'null:'), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamDelete(n, StreamSide.BOTH), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamAttributesSetByHandle(n, { mtimeNs: 'now' }), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamAttributesQueryByHandle(ev), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamFlush(ev), DkError.WRONG_HANDLE_TYPE);
        err(dk.streamGetEvent(n, 7), DkError.INVALID_ARGUMENT);
        assert.equal(dk.streamFlush(n), 0);
        // Streams that are always ready give an event that is always set.
        const e = ok(dk.streamGetEvent(n, StreamSide.READ));
        assert.equal(dk.eventPeek(e), 1);
        err(dk.eventSet(e), DkError.WRONG_HANDLE_TYPE);
        assert.equal(dk.objectClose(e), 0);
      });
    });

    describe('pipes', () => {
      it('pipe: returns one end; its peerUri opens the other exactly once; both ways', () => {
        const { dk } = fresh();
        const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const attrs = ok(dk.streamAttributesQueryByHandle(a));
        assert.equal(attrs.kind, 'pipe');
        assert.match(attrs.peerUri!, /^pipe:/);
        const b = ok(dk.streamOpen(attrs.peerUri!, RW, 0, 0));
        err(dk.streamOpen(attrs.peerUri!, RW, 0, 0), DkError.NOT_FOUND);
        assert.equal(dk.streamWrite(a, -1, enc('ping')), 4);
        assert.equal(ok(dk.streamAttributesQueryByHandle(b)).size, 4, 'bytes ready to read');
        const buf = new Uint8Array(16);
        assert.equal(dk.streamRead(b, -1, buf), 4);
        assert.equal(dec(buf.subarray(0, 4)), 'ping');
        assert.equal(dk.streamWrite(b, -1, enc('pong!')), 5);
        assert.equal(dk.streamRead(a, -1, buf), 5);
        assert.equal(dec(buf.subarray(0, 5)), 'pong!');
        err(dk.streamRead(a, -1, buf), DkError.WOULD_BLOCK);
        assert.equal(dk.streamWrite(a, -1, new Uint8Array(0)), 0);
      });

      it('backpressure: a write takes what fits, WOULD_BLOCK when full, the WRITE event follows', async () => {
        const { dk } = fresh();
        const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const b = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
        const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
        const n = ok(dk.streamWrite(a, -1, big));
        assert.equal(n, 65536);
        err(dk.streamWrite(a, -1, big), DkError.WOULD_BLOCK);
        const writable = ok(dk.streamGetEvent(a, StreamSide.WRITE));
        assert.equal(dk.eventPeek(writable), 0);
        const w = dk.objectsWaitAny([writable], null);
        const out = new Uint8Array(1000);
        assert.equal(dk.streamRead(b, -1, out), 1000);
        assert.ok(out.every((v, i) => v === (i & 0xff)));
        assert.equal(await w, 0);
        assert.equal(dk.streamWrite(a, -1, big.subarray(n)), 1000);
        // Everything comes out in order, across the ring's wrap-around.
        const all = new Uint8Array(65536);
        let got = 0;
        while (got < all.length) got += ok(dk.streamRead(b, -1, all.subarray(got)));
        assert.ok(all.every((v, i) => v === ((i + 1000) & 0xff)));
        err(dk.streamRead(b, -1, out), DkError.WOULD_BLOCK);
      });

      it('READ event wakes a reader; EOF after the writer closes; BROKEN_PIPE after the reader closes', async () => {
        const { dk } = fresh();
        const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const b = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
        const readable = ok(dk.streamGetEvent(b, StreamSide.READ));
        const w = dk.objectsWaitAny([readable], null);
        dk.streamWrite(a, -1, enc('data'));
        assert.equal(await w, 0);
        assert.equal(dk.eventPeek(readable), 1, 'a readiness event is a state, not consumed');
        assert.equal(dk.objectClose(a), 0);
        const buf = new Uint8Array(10);
        assert.equal(dk.streamRead(b, -1, buf), 4, 'buffered data outlives the writer');
        assert.equal(dk.streamRead(b, -1, buf), 0, 'then end of stream');
        assert.equal(dk.eventPeek(readable), 1, 'EOF is readable');
        err(dk.streamWrite(b, -1, enc('x')), DkError.BROKEN_PIPE);
      });

      it('DkStreamDelete shuts one half', () => {
        const { dk } = fresh();
        const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const b = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
        assert.equal(dk.streamDelete(a, StreamSide.WRITE), 0);
        assert.equal(dk.streamRead(b, -1, new Uint8Array(4)), 0, 'b sees end of stream');
        err(dk.streamWrite(a, -1, enc('x')), DkError.BROKEN_PIPE);
        assert.equal(dk.streamWrite(b, -1, enc('yz')), 2, 'the other direction still works');
        assert.equal(dk.streamDelete(a, StreamSide.READ), 0);
        err(dk.streamWrite(b, -1, enc('x')), DkError.BROKEN_PIPE);
        err(dk.streamDelete(a, 9), DkError.INVALID_ARGUMENT);
      });

      it('anonymous pipes connect picoprocesses of one host', () => {
        const host = H.create();
        const p1 = host.createProcess();
        const p2 = host.createProcess();
        const a = ok(p1.dk.streamOpen('pipe:', RW, 0, 0));
        const b = ok(p2.dk.streamOpen(ok(p1.dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
        p1.dk.streamWrite(a, -1, enc('cross'));
        const buf = new Uint8Array(8);
        assert.equal(p2.dk.streamRead(b, -1, buf), 5);
        assert.equal(dec(buf.subarray(0, 5)), 'cross');
      });

      it('an unclaimed peer is forgotten when its end closes', () => {
        const { dk } = fresh();
        const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const peer = ok(dk.streamAttributesQueryByHandle(a)).peerUri!;
        dk.objectClose(a);
        err(dk.streamOpen(peer, RW, 0, 0), DkError.NOT_FOUND);
      });

      it('named pipes: listen, connect across picoprocesses, accept, readiness, names', async () => {
        const host = H.create();
        const server = host.createProcess();
        const client = host.createProcess();
        const s = ok(server.dk.streamOpen('pipe.server:svc', RW, Create.CREATE, 0));
        err(client.dk.streamOpen('pipe.server:svc', RW, Create.CREATE, 0), DkError.ALREADY_EXISTS);
        err(server.dk.streamOpen('pipe.server:svc', RW, 0, OpenOption.ACCEPT), DkError.WOULD_BLOCK);
        err(client.dk.streamOpen('pipe.client:nobody', RW, 0, 0), DkError.NOT_FOUND);
        err(client.dk.streamOpen('pipe.server:nobody', RW, 0, OpenOption.ACCEPT), DkError.NOT_FOUND);
        err(client.dk.streamOpen('pipe.server:svc', RW, 0, 0), DkError.INVALID_ARGUMENT);
        err(client.dk.streamOpen('pipe.client:', RW, 0, 0), DkError.INVALID_ARGUMENT);
        err(client.dk.streamOpen('pipe.client:' + 'n'.repeat(300), RW, 0, 0), DkError.NAME_TOO_LONG);
        const pending = ok(server.dk.streamGetEvent(s, StreamSide.READ));
        const w = server.dk.objectsWaitAny([pending], null);
        const c = ok(client.dk.streamOpen('pipe.client:svc', RW, 0, 0));
        assert.equal(await w, 0);
        assert.equal(ok(server.dk.streamAttributesQuery('pipe.server:svc', 0)).size, 1);
        assert.equal(client.dk.streamWrite(c, -1, enc('req')), 3);
        const conn = ok(server.dk.streamOpen('pipe.server:svc', RW, 0, OpenOption.ACCEPT));
        assert.equal(server.dk.eventPeek(pending), 0);
        const buf = new Uint8Array(8);
        assert.equal(server.dk.streamRead(conn, -1, buf), 3);
        assert.equal(dec(buf.subarray(0, 3)), 'req');
        server.dk.streamWrite(conn, -1, enc('resp'));
        assert.equal(client.dk.streamRead(c, -1, buf), 4);
        // Closing the server frees the name; live connections stay.
        server.dk.objectClose(s);
        err(server.dk.streamAttributesQuery('pipe.server:svc', 0), DkError.NOT_FOUND);
        err(client.dk.streamOpen('pipe.client:svc', RW, 0, 0), DkError.NOT_FOUND);
        ok(client.dk.streamOpen('pipe.server:svc', RW, Create.CREATE, 0));
        assert.equal(client.dk.streamWrite(c, -1, enc('still')), 5);
        server.dk.objectClose(conn);
        err(client.dk.streamWrite(c, -1, enc('x')), DkError.BROKEN_PIPE);
      });
    });

    describe('devices', () => {
      it('dev:fb: DkFrameBufferExport, pixel writes, DkFrameBufferNotifyUpdate reaches the listener', () => {
        const { host, p, dk } = fresh();
        const updates: FrameBufferUpdate[] = [];
        host.onFrameBufferUpdate((u) => updates.push({ ...u, pixels: u.pixels.slice() }));
        err(dk.streamOpen('dev:fb', RW, 0, 0), DkError.NOT_FOUND);
        err(dk.frameBufferExport(2, 2, 99), DkError.NOT_SUPPORTED);
        err(dk.frameBufferExport(0, 2, PixelFormat.RGBA8888), DkError.INVALID_ARGUMENT);
        err(dk.frameBufferExport(100000, 100000, PixelFormat.RGBA8888), DkError.NO_MEMORY);
        const fb = ok(dk.frameBufferExport(2, 2, PixelFormat.RGBA8888));
        assert.equal(dk.streamWrite(fb, 4, new Uint8Array([1, 2, 3, 4])), 4);
        assert.equal(dk.frameBufferNotifyUpdate(fb, 1, 0, 1, 1), 0);
        assert.equal(updates.length, 1);
        const u = updates[0]!;
        assert.deepEqual([u.processId, u.width, u.height, u.x, u.y, u.w, u.h], [p.id, 2, 2, 1, 0, 1, 1]);
        assert.deepEqual([...u.pixels.subarray(0, 8)], [0, 0, 0, 0, 1, 2, 3, 4]);
        err(dk.frameBufferNotifyUpdate(fb, 1, 1, 2, 1), DkError.INVALID_ARGUMENT);
        err(dk.frameBufferNotifyUpdate(fb, -1, 0, 1, 1), DkError.INVALID_ARGUMENT);
        err(dk.frameBufferNotifyUpdate(ok(dk.notificationEventCreate(false)), 0, 0, 1, 1), DkError.WRONG_HANDLE_TYPE);
        // dev:fb opens the exported buffer.
        const again = ok(dk.streamOpen('dev:fb', RW, 0, 0));
        const px = new Uint8Array(16);
        assert.equal(dk.streamRead(again, 0, px), 16);
        assert.deepEqual([...px.subarray(4, 8)], [1, 2, 3, 4]);
        err(dk.streamWrite(again, 16, new Uint8Array(1)), DkError.NO_SPACE);
      });

      it('dev:input: injected events come out as 16-byte records; the READ event signals them', async () => {
        const { host, p, dk } = fresh();
        const buf = new Uint8Array(64);
        err(dk.inputEventRead(buf), DkError.WOULD_BLOCK);
        err(dk.inputEventRead(new Uint8Array(15)), DkError.INVALID_ARGUMENT);
        const dev = ok(dk.streamOpen('dev:input', Access.READ, 0, 0));
        const ready = ok(dk.streamGetEvent(dev, StreamSide.READ));
        const w = dk.objectsWaitAny([ready], null);
        assert.equal(host.injectInput(p, { type: 1, code: 30, value: -1, timeMs: 1234 }), 0);
        assert.equal(host.injectInput(p.id, { type: 2, code: 0, value: 5, timeMs: 99 }), 0);
        err(host.injectInput(999_999, { type: 1, code: 1, value: 1 }), DkError.NOT_FOUND);
        assert.equal(await w, 0);
        assert.equal(dk.inputEventRead(buf.subarray(0, 20)), INPUT_EVENT_SIZE, 'whole events only');
        const v = new DataView(buf.buffer);
        assert.deepEqual([v.getUint32(0, true), v.getUint32(4, true), v.getInt32(8, true), v.getUint32(12, true)], [1, 30, -1, 1234]);
        assert.equal(dk.streamRead(dev, -1, buf), INPUT_EVENT_SIZE);
        assert.deepEqual([v.getUint32(0, true), v.getInt32(8, true), v.getUint32(12, true)], [2, 5, 99]);
        assert.equal(dk.eventPeek(ready), 0);
        err(dk.streamRead(dev, -1, buf), DkError.WOULD_BLOCK);
      });
    });

    describe('child processes and exit', () => {
      it('DkProcessCreate without a launcher is NOT_SUPPORTED; arguments are checked', () => {
        const { dk } = fresh();
        err(dk.processCreate('file:/a.wasm', [], []), DkError.NOT_SUPPORTED);
        const l = fresh({ launcher: () => DkError.NOT_FOUND }).dk;
        err(l.processCreate('file:/a.wasm', [], []), DkError.NOT_FOUND);
        err(l.processCreate('file:/a.wasm', [1 as unknown as string], []), DkError.INVALID_ARGUMENT);
        err(l.processCreate('file:/a.wasm', [], [77]), DkError.BAD_HANDLE);
        err(l.processCreate('file:/a.wasm', [], [ok(l.notificationEventCreate(false))]), DkError.WRONG_HANDLE_TYPE);
      });

      it('a child gets stdio streams, its handle signals at exit, DkProcessGetExitCode', async () => {
        const host = H.create();
        let child: Picoprocess | null = null;
        const parent = host.createProcess({
          launcher: (req) => {
            assert.equal(req.uri, 'file:/child.wasm');
            assert.deepEqual(req.args, ['child', '-v']);
            const c = host.createProcess({ stdioStreams: req.stdio });
            child = c;
            return { exited: c.exited, kill: () => c.kill(137) };
          },
        });
        const dk = parent.dk;
        const out = ok(dk.streamOpen('pipe:', RW, 0, 0));
        const childEnd = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(out)).peerUri!, RW, 0, 0));
        const ph = ok(dk.processCreate('file:/child.wasm', ['child', '-v'], [0, childEnd, childEnd]));
        dk.objectClose(childEnd); // the child holds its own reference
        err(dk.processGetExitCode(ph), DkError.WOULD_BLOCK);
        const c = child! as Picoprocess;
        const cout = ok(c.dk.streamOpen('stdout:', Access.WRITE, 0, 0));
        assert.equal(c.dk.streamWrite(cout, -1, enc('from child')), 10);
        assert.equal(c.dk.streamRead(ok(c.dk.streamOpen('stdin:', Access.READ, 0, 0)), -1, new Uint8Array(4)), 0);
        assert.equal(c.dk.processExit(7), 0);
        assert.equal(await c.exited, 7);
        assert.equal(c.exitCode, 7);
        assert.equal(await dk.objectsWaitAny([ph], null), 0);
        assert.equal(dk.processGetExitCode(ph), 7);
        const buf = new Uint8Array(32);
        assert.equal(dk.streamRead(out, -1, buf), 10);
        assert.equal(dec(buf.subarray(0, 10)), 'from child');
        assert.equal(dk.streamRead(out, -1, buf), 0, 'the child exited: its end is closed');
        err(dk.processGetExitCode(ok(dk.notificationEventCreate(false))), DkError.WRONG_HANDLE_TYPE);
      });

      it('DkProcessExit: exited settles, handles close, later primitives return EXITED', async () => {
        const host = H.create();
        const p = host.createProcess();
        const other = host.createProcess();
        const a = ok(p.dk.streamOpen('pipe:', RW, 0, 0));
        const b = ok(other.dk.streamOpen(ok(p.dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
        const ev = ok(p.dk.notificationEventCreate(false));
        const w = p.dk.objectsWaitAny([ev], null);
        const sleeping = p.dk.threadDelayExecution(3_600_000_000_000n);
        assert.equal(p.dk.processExit(3), 0);
        assert.equal(await p.exited, 3);
        err(await w, DkError.EXITED);
        err(await sleeping, DkError.EXITED);
        err(p.dk.eventPeek(ev), DkError.EXITED);
        err(p.dk.streamWrite(a, -1, enc('x')), DkError.EXITED);
        err(p.dk.systemTimeQuery(Clock.MONOTONIC), DkError.EXITED);
        err(await p.dk.objectsWaitAny([ev], 0n), DkError.EXITED);
        err(p.dk.processExit(4), DkError.EXITED);
        assert.equal(p.exitCode, 3);
        assert.equal(other.dk.streamRead(b, -1, new Uint8Array(1)), 0, 'its pipe end was closed');
        assert.equal(host.process(p.id), undefined);
      });

      it('Picoprocess.kill ends it from outside', async () => {
        const { p, dk } = fresh();
        const w = dk.objectsWaitAny([ok(dk.notificationEventCreate(false))], null);
        p.kill(137);
        assert.equal(await p.exited, 137);
        err(await w, DkError.EXITED);
        err(dk.debugStringPrint('x'), DkError.EXITED);
      });
    });

    describe('other primitives', () => {
      it('DkSystemTimeQuery: four clocks, monotonic never goes back, bad clock refused', () => {
        const { dk } = fresh();
        for (const c of [Clock.REALTIME, Clock.MONOTONIC, Clock.PROCESS_CPUTIME, Clock.THREAD_CPUTIME]) {
          assert.equal(typeof dk.systemTimeQuery(c), 'bigint');
        }
        let last = ok(dk.systemTimeQuery(Clock.MONOTONIC));
        for (let i = 0; i < 1000; i++) {
          const t = ok(dk.systemTimeQuery(Clock.MONOTONIC));
          assert.ok(t >= last);
          last = t;
        }
        const real = ok(dk.systemTimeQuery(Clock.REALTIME));
        assert.ok(real > 1_700_000_000_000_000_000n, 'nanoseconds since the epoch, after 2023');
        err(dk.systemTimeQuery(4), DkError.INVALID_ARGUMENT);
        err(dk.systemTimeQuery(-1), DkError.INVALID_ARGUMENT);
      });

      it('DkRandomBitsRead fills the buffer', () => {
        const { dk } = fresh();
        const a = new Uint8Array(4096);
        assert.equal(dk.randomBitsRead(a), 4096);
        const b = new Uint8Array(4096);
        dk.randomBitsRead(b);
        assert.notDeepEqual(a, b);
        assert.ok(new Set(a).size > 200, 'bytes look random');
        assert.equal(dk.randomBitsRead(new Uint8Array(0)), 0);
        err(dk.randomBitsRead('x' as unknown as Uint8Array), DkError.INVALID_ARGUMENT);
      });

      it('DkInstructionCacheFlush and DkDebugStringPrint', () => {
        const lines: string[] = [];
        const { dk } = fresh({ debugLog: (l) => lines.push(l) });
        assert.equal(dk.instructionCacheFlush(), 0);
        assert.equal(dk.debugStringPrint('hello host'), 0);
        assert.deepEqual(lines, ['hello host']);
        err(dk.debugStringPrint(5 as unknown as string), DkError.INVALID_ARGUMENT);
        assert.equal(fresh().dk.debugStringPrint('nowhere'), 0);
      });

      it('DkStreamMap copies file bytes into memory; DkStreamUnmap writes a writable map back', () => {
        const { p, dk } = fresh();
        const dir = H.name === 'node' ? mkdtempSync(join(tmpdir(), 'dk-kernel-')) : '';
        try {
          const memory = new WebAssembly.Memory({ initial: 1, maximum: 8 });
          p.attachMemory(memory);
          const f = ok(dk.streamOpen(`file:${dir}/mapped`, RW, Create.CREATE, 0));
          assert.equal(dk.streamWrite(f, 0, enc('0123456789')), 10);
          err(dk.streamMap(f, 0, Prot.READ, -1, 10), DkError.INVALID_ARGUMENT);
          err(dk.streamMap(ok(dk.notificationEventCreate(false)), 0, Prot.READ, 0, 10), DkError.WRONG_HANDLE_TYPE);
          const addr = ok(dk.streamMap(f, 0, Prot.READ | Prot.WRITE, 2, 6));
          assert.equal(addr % PAGE, 0);
          const mem = () => new Uint8Array(memory.buffer);
          assert.equal(dec(mem().subarray(addr, addr + 6)), '234567');
          assert.equal(mem()[addr + 6], 0, 'past the size: zero');
          mem().set(enc('ABC'), addr);
          err(dk.streamUnmap(addr + PAGE, 6), DkError.INVALID_ARGUMENT);
          err(dk.virtualMemoryFree(addr, PAGE), DkError.INVALID_ARGUMENT);
          assert.equal(dk.streamUnmap(addr, 6), 0);
          const back = new Uint8Array(10);
          assert.equal(dk.streamRead(f, 0, back), 10);
          assert.equal(dec(back), '01ABC56789');
          assert.ok(
            mem()
              .subarray(addr, addr + 6)
              .every((b) => b === 0),
            'unmapped: zeroed',
          );
          err(dk.streamUnmap(addr, 6), DkError.INVALID_ARGUMENT);
          // A read-only mapping is not written back.
          const ro = ok(dk.streamMap(f, 0, Prot.READ, 0, 4));
          mem().set(enc('zzzz'), ro);
          assert.equal(dk.streamUnmap(ro, 4), 0);
          assert.equal(dk.streamRead(f, 0, back), 10);
          assert.equal(dec(back), '01ABC56789');
        } finally {
          if (dir) rmSync(dir, { recursive: true, force: true });
        }
      });

      it('DkStreamMapPeBinary returns a whole Wasm image, refuses anything else', () => {
        const { dk } = fresh();
        const dir = H.name === 'node' ? mkdtempSync(join(tmpdir(), 'dk-kernel-')) : '';
        try {
          const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
          const f = ok(dk.streamOpen(`file:${dir}/m.wasm`, RW, Create.CREATE, 0));
          dk.streamWrite(f, 0, wasm);
          assert.deepEqual(ok(dk.streamMapPeBinary(f)), wasm);
          const g = ok(dk.streamOpen(`file:${dir}/not.wasm`, RW, Create.CREATE, 0));
          dk.streamWrite(g, 0, enc('#!/bin/sh\necho hi\n'));
          err(dk.streamMapPeBinary(g), DkError.INVALID_ARGUMENT);
          // From a pipe: read to its end.
          const a = ok(dk.streamOpen('pipe:', RW, 0, 0));
          const b = ok(dk.streamOpen(ok(dk.streamAttributesQueryByHandle(a)).peerUri!, RW, 0, 0));
          dk.streamWrite(a, -1, wasm);
          err(dk.streamMapPeBinary(b), DkError.WOULD_BLOCK);
          dk.streamWrite(a, -1, wasm);
          dk.streamDelete(a, StreamSide.WRITE);
          assert.equal(ok(dk.streamMapPeBinary(b)).length, 8);
          // A device never ends: refused at once, not read until the 1 GiB cap (found by the Dk fuzzer).
          err(dk.streamMapPeBinary(ok(dk.frameBufferExport(3, 8285, PixelFormat.RGBA8888))), DkError.WRONG_HANDLE_TYPE);
          err(dk.streamMapPeBinary(ok(dk.streamOpen('dev:input', Access.READ, 0, 0))), DkError.WRONG_HANDLE_TYPE);
          err(dk.streamMapPeBinary(ok(dk.streamOpen('null:', Access.READ, 0, 0))), DkError.WRONG_HANDLE_TYPE);
        } finally {
          if (dir) rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  });
}

describe('memory host determinism', () => {
  it('the same seed gives the same random bytes; another seed does not', () => {
    const bytes = (seed: number) => {
      const b = new Uint8Array(64);
      createMemoryHost({ seed }).createProcess().dk.randomBitsRead(b);
      return b;
    };
    assert.deepEqual(bytes(7), bytes(7));
    assert.notDeepEqual(bytes(7), bytes(8));
  });

  it('virtual time: an hour of sleep passes at once and reads the same on every run', async () => {
    const run = async () => {
      const dk = createMemoryHost().createProcess().dk;
      const t0 = ok(dk.systemTimeQuery(Clock.MONOTONIC));
      await dk.threadDelayExecution(3_600_000_000_000n);
      return [t0, ok(dk.systemTimeQuery(Clock.MONOTONIC)), ok(dk.systemTimeQuery(Clock.REALTIME))];
    };
    const started = Date.now();
    const a = await run();
    const b = await run();
    // Virtual: an hour of sleep takes no real hour (a generous bound for a loaded machine).
    assert.ok(Date.now() - started < 10000);
    assert.deepEqual(a, b);
    assert.ok(a[1]! - a[0]! >= 3_600_000_000_000n);
  });

  it('timers fire in deadline order while threads are blocked', async () => {
    const p = createMemoryHost().createProcess();
    const { bodies } = withThreads(p);
    const order: number[] = [];
    for (const [param, ms] of [
      [1, 30],
      [2, 10],
      [3, 20],
    ] as const) {
      bodies.set(param, async () => {
        await p.dk.threadDelayExecution(BigInt(ms) * 1_000_000n);
        order.push(param);
      });
    }
    const hs = [1, 2, 3].map((i) => ok(p.dk.threadCreate(i)));
    for (const h of hs) await p.dk.objectsWaitAny([h], null);
    assert.deepEqual(order, [2, 3, 1]);
  });

  it('files: option pre-populates the file system', () => {
    const dk = createMemoryHost({ files: { '/etc/motd': 'welcome' } }).createProcess().dk;
    const f = ok(dk.streamOpen('file:/etc/motd', Access.READ, 0, 0));
    const buf = new Uint8Array(16);
    assert.equal(dk.streamRead(f, 0, buf), 7);
    assert.equal(dec(buf.subarray(0, 7)), 'welcome');
  });
});

describe('node host: inherited stdio', () => {
  // A separate Node process, so that its real fds 0 and 1 are ours to choose.
  const script = `
    import { createNodeHost } from ${JSON.stringify(new URL('../../src/host/node/index.ts', import.meta.url).href)};
    const dk = createNodeHost().createProcess({ stdin: 'inherit', stdout: 'inherit' }).dk;
    const i = dk.streamOpen('stdin:', 1, 0, 0), o = dk.streamOpen('stdout:', 2, 0, 0);
    const buf = new Uint8Array(100);
    let ticks = 0;
    const iv = setInterval(() => ticks++, 1);
    const first = dk.streamRead(i, -1, buf);
    let n = first;
    for (;;) {
      if (n === -1) {
        const ev = dk.streamGetEvent(i, 1);
        await dk.objectsWaitAny([ev], null);
        dk.objectClose(ev);
      } else if (n === 0) {
        break;
      } else {
        dk.streamWrite(o, -1, buf.subarray(0, n));
      }
      n = dk.streamRead(i, -1, buf);
    }
    clearInterval(iv);
    dk.streamWrite(o, -1, new TextEncoder().encode('|first=' + (first === -1 ? 'WOULD_BLOCK' : 'data') + ' ticked=' + (ticks > 0)));
  `;
  const run = async (stdin: 'pipe' | number, feed?: (w: NodeJS.WritableStream) => void): Promise<string> => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: [stdin, 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    if (feed) feed(child.stdin!);
    await new Promise((r) => child.on('close', r));
    return out;
  };

  it('a pipe on fd 0 is read without blocking the event loop: WOULD_BLOCK, then the READ event', async () => {
    const out = await run('pipe', (w) => {
      setTimeout(() => w.write('hello '), 50);
      setTimeout(() => w.end('world'), 100);
    });
    assert.equal(out, 'hello world|first=WOULD_BLOCK ticked=true');
  });

  it('a regular file on fd 0 is read directly', async () => {
    const { openSync, writeFileSync, closeSync } = await import('node:fs');
    const dir = mkdtempSync(join(tmpdir(), 'dk-stdin-'));
    try {
      writeFileSync(join(dir, 'in'), 'from a file');
      const fd = openSync(join(dir, 'in'), 'r');
      const out = await run(fd);
      closeSync(fd);
      assert.match(out, /^from a file\|first=data ticked=(true|false)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile arguments never throw', () => {
  const junk: unknown[] = [
    undefined,
    null,
    -1,
    0,
    1,
    3,
    2 ** 53,
    NaN,
    Infinity,
    1.5,
    '',
    'x',
    'pipe:',
    {},
    [],
    [1, 'a'],
    1n,
    -1n,
    2n ** 80n,
    new Uint8Array(3),
    true,
  ];
  for (const H of HOSTS) {
    it(`every primitive on the ${H.name} host answers junk with a value or a DkError`, async () => {
      const { PRIMITIVES } = await import('../../src/abi/spec.ts');
      const p = H.create().createProcess({ launcher: () => DkError.NOT_FOUND });
      p.attachMemory(new WebAssembly.Memory({ initial: 1, maximum: 2 }));
      withThreads(p);
      const dk = p.dk as unknown as Record<string, (...args: unknown[]) => unknown>;
      // A few real handles for the junk to hit.
      p.dk.notificationEventCreate(false);
      p.dk.streamOpen('pipe:', RW, 0, 0);
      let seed = 12345;
      const pick = () => junk[(seed = (seed * 1103515245 + 12345) & 0x7fffffff) % junk.length];
      for (const spec of PRIMITIVES) {
        if (spec.method === 'processExit' || spec.method === 'threadExit') continue;
        for (let round = 0; round < 40; round++) {
          const args = spec.args.map(() => pick());
          let r: unknown;
          try {
            r = dk[spec.method]!(...args);
            if (r instanceof Promise) r = await Promise.race([r, new Promise((res) => setTimeout(() => res('pending'), 20))]);
          } catch (e) {
            assert.fail(`${spec.name}(${args.map(String).join(', ')}) threw ${String(e)}`);
          }
          if (typeof r === 'number' && r < 0) assert.ok(dkErrorName(r) !== `UNKNOWN_ERROR(${r})`, `${spec.name}: unknown error ${r}`);
        }
      }
      // Ends the waits and sleeps the junk started (their timers would keep the test alive).
      p.kill(0);
      assert.equal(await p.exited, 0);
    });
  }
});
