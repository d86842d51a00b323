// The entry point of a pool's worker thread: one Scheduler (a Supervisor and its event loop)
// driven by the pool on the main thread (pool.ts; workers.ts starts the threads and talks to them) through this thread's port.

import { parentPort, workerData } from 'node:worker_threads';
import { Scheduler } from './scheduler.ts';
import { batching, type FromScheduler, type ToScheduler } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('pool-worker.ts runs as a worker thread of drawbridge serve');
const data = workerData as ConstructorParameters<typeof Scheduler>[1] & { dedicated: boolean };
// A worker of its own runs one guest that may never give the thread back: its answers go at
// once. A pool worker gathers what it posts in one turn into one message.
const post = data.dedicated
  ? (m: FromScheduler, transfer?: ArrayBuffer[]) => port.postMessage(m, transfer)
  : batching<FromScheduler>((m, transfer) => port.postMessage(m, transfer));
const scheduler = new Scheduler(post, data);
port.on('message', (m: ToScheduler) => scheduler.handle(m));
