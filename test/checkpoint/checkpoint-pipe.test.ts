// Pipes in checkpoints: a pipe whose open ends are all the picoprocess's own follows it with
// its buffered bytes (guests/checkpoint/pipe_keep.c); one shared with a live child is refused
// with a reason naming the descriptor.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileModule } from '../../src/runtime/module-cache.ts';
import { prepareModule } from '../../src/runtime/prepare.ts';
import { startCommand, type ExitStatus } from '../../src/runtime/picoprocess.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { emptyManifest, type Manifest } from '../../src/monitor/manifest/manifest.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const GUEST = readFileSync('build/guests/checkpoint/pipe_keep.wasm');
const host = createNodeHost();

function manifest(children = 0): Manifest {
  const base = emptyManifest();
  return { ...base, mounts: [{ host: resolve('build/guests/process'), guest: '/bin', mode: 'ro' }], limits: { ...base.limits, children } };
}

interface Run {
  status: ExitStatus;
  out: string;
  snapshot: Uint8Array | null;
  refused: string | null;
}

async function run(
  args: string[],
  opts: { checkpointAfterLines?: number; leaveRunning?: boolean; restore?: Uint8Array; children?: number } = {},
): Promise<Run> {
  const prepared = await prepareModule(GUEST);
  const module = await compileModule(prepared);
  const out: string[] = [];
  let lines = 0;
  let request: Promise<Uint8Array> | null = null;
  const ref: { running: Awaited<ReturnType<typeof startCommand>> | null } = { running: null };
  ref.running = await startCommand({
    host,
    module,
    args,
    manifest: manifest(opts.children),
    capture: { moduleBytes: prepared, moduleName: 'pipe_keep.wasm' },
    restore: opts.restore ? decodeSnapshot(opts.restore) : undefined,
    stdout: (b) => {
      const text = Buffer.from(b).toString();
      out.push(text);
      lines += text.split('\n').length - 1;
      if (opts.checkpointAfterLines !== undefined && lines >= opts.checkpointAfterLines && !request) {
        request = ref.running!.checkpoint!(opts.leaveRunning ?? false);
        request.catch(() => {}); // a refusal is looked at below, once the program is done
      }
    },
  });
  const status = await ref.running.done;
  let snapshot: Uint8Array | null = null;
  let refused: string | null = null;
  if (request) {
    try {
      snapshot = await (request as Promise<Uint8Array>);
    } catch (e) {
      refused = (e as Error).message;
    }
  }
  return { status, out: out.join(''), snapshot, refused };
}

const EXPECTED_TAIL =
  'p: kept in a pipe across a checkpoint\n' + 'p: and more after\n' + 'q: 30000 bytes, 0 wrong, then end of file\n' + 'p after its reader closed: EPIPE\n';

test('a pipe of its own follows a checkpoint: restored (here and in a fresh process), the bytes read back are the same', async () => {
  const whole = await run(['pipe_keep', 'self', '30']);
  assert.equal(whole.status.exitCode, 0, whole.status.error);
  assert.ok(whole.out.endsWith(EXPECTED_TAIL), whole.out);

  // Captured while it sleeps (after the first line), with 35 + 30 000 bytes in two pipes.
  const first = await run(['pipe_keep', 'self', '30'], { checkpointAfterLines: 1 });
  assert.equal(first.refused, null);
  assert.equal(first.status.checkpointed, true);
  assert.ok(first.snapshot);
  assert.ok(!first.out.includes('p: '));
  const meta = decodeSnapshot(first.snapshot!).meta;
  const pipes = meta.libos.fds.filter((d) => d.pipe);
  assert.deepEqual(
    pipes.map((d) => d.fd),
    [4, 5, 6],
    'both ends of p and the reader of q',
  );
  assert.equal(Buffer.from(pipes.find((d) => d.fd === 6)!.pipe!.data, 'base64').length, 30000);

  const second = await run(['pipe_keep', 'self', '30'], { restore: first.snapshot! });
  assert.equal(second.status.exitCode, 0, second.status.error);
  assert.equal(first.out + second.out, whole.out);

  // The same snapshot restored by the CLI in a new Node process.
  const file = join(mkdtempSync(join(tmpdir(), 'db-ckpt-pipe-')), 'pipe.snap');
  writeFileSync(file, first.snapshot!);
  const cli = spawnSync(process.execPath, ['bin/drawbridge.js', 'restore', '--trust-unsealed', '--dir', `${resolve('build/guests/process')}::/bin`, file], {
    encoding: 'utf8',
  });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(first.out + cli.stdout, whole.out);
});

test('--leave-running: saving a pipe reads nothing out of it (the program goes on as if never captured)', async () => {
  const whole = await run(['pipe_keep', 'self', '20']);
  const live = await run(['pipe_keep', 'self', '20'], { checkpointAfterLines: 2, leaveRunning: true });
  assert.equal(live.refused, null);
  assert.ok(live.snapshot);
  assert.equal(live.status.checkpointed, undefined);
  assert.equal(live.out, whole.out);
  const again = await run(['pipe_keep', 'self', '20'], { restore: live.snapshot! });
  assert.equal(again.out, whole.out.slice(whole.out.indexOf('slept 0\n') + 'slept 0\n'.length));
});

test('a pipe to a live child cannot follow: the checkpoint is refused naming the descriptor, the program runs on', async () => {
  const r = await run(['pipe_keep', 'child', '30'], { checkpointAfterLines: 1, children: 1 });
  assert.equal(r.snapshot, null);
  assert.match(
    r.refused ?? '',
    /^cannot checkpoint: descriptor 4 is a pipe whose other end is held by a child picoprocess, which is not in the checkpoint; wait for the child \(or close the descriptor\) first$/,
  );
  assert.equal(r.status.exitCode, 0, r.status.error);
  assert.equal(r.out, "child's stdin is our fd 4\nslept 0\nslept 1\nslept 2\nslept 3\nchild exited 0\n");
});
