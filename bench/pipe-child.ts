// Child process of bench/pipe-throughput.ts: runs guests/process/pipebench.c under drawbridge
// (runCommand) with a manifest that grants it one child and mounts the process guests at /bin.
// The guest's report line goes to this process's stdout.
//   node bench/pipe-child.ts GUESTS_DIR SIZE CHUNK

import { join } from 'node:path';
import { runCommand } from '../src/runtime/run.ts';
import { buildManifest } from '../src/monitor/manifest/parse.ts';

const [dir, size, chunk] = process.argv.slice(2) as [string, string, string];
const m = buildManifest({ mounts: [{ host: dir, guest: '/bin', mode: 'ro' }], limits: { children: 1 } });
if (!m.ok) throw new Error(m.errors.map((e) => `${e.path}: ${e.message}`).join('; '));
const r = await runCommand({ module: join(dir, 'pipebench.wasm'), args: ['pipebench', '/bin/child.wasm', size, chunk], manifest: m.manifest });
if (r.error) process.stderr.write(`${r.error}\n`);
process.exit(r.exitCode);
