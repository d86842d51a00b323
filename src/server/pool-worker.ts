// The entry point of a pool's worker thread: one Scheduler (a Supervisor and its event loop)
// driven by the pool on the main thread (pool.ts) through this thread's port.

import { parentPort, workerData } from 'node:worker_threads';
import { Scheduler } from './scheduler.ts';
import type { ToScheduler } from './worker-protocol.ts';

const port = parentPort;
if (!port) throw new Error('pool-worker.ts runs as a worker thread of drawbridge serve');
const scheduler = new Scheduler((message, transfer) => port.postMessage(message, transfer), workerData as ConstructorParameters<typeof Scheduler>[1]);
port.on('message', (m: ToScheduler) => scheduler.handle(m));
