// The second guest of the guest-only path race (test/host/files-race.test.ts), run in a worker
// thread so that it really runs beside the first: through its own monitor on the same mount,
// it swaps /data/D (a directory) and /data/L (a symbolic link that leads out of the mount on
// the host) with nothing but rename, until its time is up, then posts how many swaps it made.

import { parentPort, workerData } from 'node:worker_threads';
import { Access, OpenOption, type Dk, type Handle } from '../../../src/abi/dk.ts';
import { isDkError } from '../../../src/abi/errors.ts';
import { buildManifest } from '../../../src/monitor/manifest/parse.ts';
import { createMonitor, policyFromManifest } from '../../../src/monitor/monitor.ts';
import { createNodeHost } from '../../../src/host/node/index.ts';

const { mountHost, ms } = workerData as { mountHost: string; ms: number };
const m = buildManifest({ mounts: [{ host: mountHost, guest: '/data', mode: 'rw' }] });
if (!m.ok) throw new Error('manifest');
const dk: Dk = createMonitor(createNodeHost().createProcess().dk, policyFromManifest(m.manifest));

function handle(path: string): Handle {
  const h = dk.streamOpen(`file:${path}`, Access.READ, 0, OpenOption.PATH_ONLY | OpenOption.NO_FOLLOW);
  if (isDkError(h)) throw new Error(`open ${path}: ${h}`);
  return h;
}

const dir = handle('/data/D');
const link = handle('/data/L');
const end = Date.now() + ms;
let swaps = 0;
// dir and link trade places each round: D is a directory, then briefly missing, then the link.
let dirAt = '/data/D';
let linkAt = '/data/L';
for (let i = 0; i < 10_000_000 && Date.now() < end; i++) {
  if (dk.streamRename(dir, 'file:/data/T') !== 0) break;
  if (dk.streamRename(link, `file:${dirAt}`) !== 0) break;
  if (dk.streamRename(dir, `file:${linkAt}`) !== 0) break;
  [dirAt, linkAt] = [linkAt, dirAt];
  swaps++;
}
parentPort!.postMessage(swaps);
