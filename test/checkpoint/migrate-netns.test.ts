// Migration between two network namespaces joined by a veth pair: `drawbridge receive` runs
// in one, the program and `drawbridge migrate` in the other, so the snapshot crosses a real
// (virtual) link rather than loopback. The program keeps bytes in its own pipes across the
// move (guests/checkpoint/pipe_keep.c). Needs CAP_NET_ADMIN (root) and iproute2; without them
// the test is skipped with the reason, never passed silently.
import { testNeedingBinaryen as test } from '../support/toolchain.ts';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlSocketPath } from '../../src/checkpoint/control.ts';

import { collect } from '../support/child-output.ts';

const BIN = 'bin/drawbridge.js';
const GUEST = 'build/guests/checkpoint/pipe_keep.wasm';

function ip(args: string[]): { ok: boolean; err: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr || String(r.error ?? '')).trim() };
}

/** Why namespaces cannot be made here, or null when they can. */
function cannotMakeNamespaces(probe: string): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  const made = ip(['netns', 'add', probe]);
  if (!made.ok) return `cannot create a network namespace (needs CAP_NET_ADMIN and iproute2): ${made.err}`;
  ip(['netns', 'del', probe]);
  return null;
}

test('migrate a running picoprocess from one network namespace to another over a veth link', async (t) => {
  const tag = randomBytes(3).toString('hex');
  const why = cannotMakeNamespaces(`dbprobe-${tag}`);
  if (why !== null) {
    t.skip(why);
    return;
  }
  const src = `dbsrc-${tag}`;
  const dst = `dbdst-${tag}`;
  // A subnet of its own per run (the namespaces are private, but be kind to a parallel run).
  const net = `10.${200 + (parseInt(tag.slice(0, 2), 16) % 50)}.${parseInt(tag.slice(2, 4), 16)}`;
  const children: ChildProcessWithoutNullStreams[] = [];
  try {
    for (const args of [
      ['netns', 'add', src],
      ['netns', 'add', dst],
      ['-n', src, 'link', 'add', 'veth-src', 'type', 'veth', 'peer', 'name', 'veth-dst', 'netns', dst],
      ['-n', src, 'addr', 'add', `${net}.1/24`, 'dev', 'veth-src'],
      ['-n', dst, 'addr', 'add', `${net}.2/24`, 'dev', 'veth-dst'],
      ['-n', src, 'link', 'set', 'veth-src', 'up'],
      ['-n', dst, 'link', 'set', 'veth-dst', 'up'],
      ['-n', src, 'link', 'set', 'lo', 'up'],
      ['-n', dst, 'link', 'set', 'lo', 'up'],
    ]) {
      const r = ip(args);
      assert.ok(r.ok, `ip ${args.join(' ')}: ${r.err}`);
    }
    const inNs = (ns: string, args: string[]) => {
      const c = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args]);
      children.push(c);
      return c;
    };

    // The uninterrupted run, for comparison.
    const whole = spawnSync(process.execPath, [BIN, 'run', GUEST, 'self', '10'], { encoding: 'utf8' });
    assert.equal(whole.status, 0, whole.stderr);

    // The target listens on its veth address, which does not exist in the source namespace's
    // loopback nor in the host's: the snapshot can only travel over the link.
    // Beyond loopback, receive listens with TLS and prints its certificate's fingerprint:
    // the sender pins it, and presents the token from the file receive wrote.
    const tokenFile = join(mkdtempSync(join(tmpdir(), 'db-netns-tok-')), 'token');
    const target = inNs(dst, ['receive', '--listen', `${net}.2:0`, '--token-file', tokenFile]);
    const tout = collect(target, 'stdout');
    const terr = collect(target, 'stderr');
    const port = Number((await tout.waitFor(/listening on [0-9.]+:(\d+)/, 'the target to listen', 20_000))[1]);
    const pin = /tls certificate sha256 ([0-9A-F:]+)/.exec(tout.text())?.[1];
    assert.ok(pin, `receive beyond loopback printed no fingerprint: ${tout.text()}`);

    // `ip netns exec` execs node in place: the pid is the program's, as `migrate` needs.
    const source = inNs(src, ['run', GUEST, 'self', '400']);
    const sout = collect(source, 'stdout');
    await sout.waitFor(/^wrote into p/m, 'the program to fill its pipes', 20_000);
    // Its control socket (what `migrate PID` reaches) is a file, shared by the namespaces.
    const sock = controlSocketPath(source.pid!);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(sock), `no control socket ${sock}; source said: ${sout.text()}`);
    // Loopback is the namespace's own: nothing listens on the target's port there.
    const probe = `require('net').connect(${port}, '127.0.0.1').on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(1); })`;
    const loop = spawnSync('ip', ['netns', 'exec', src, process.execPath, '-e', probe], { encoding: 'utf8' });
    assert.equal(loop.stdout.trim(), 'ECONNREFUSED', 'the target is not on the source namespace loopback');
    const m = spawnSync(
      'ip',
      ['netns', 'exec', src, process.execPath, BIN, 'migrate', String(source.pid), '--to', `${net}.2:${port}`, '--token-file', tokenFile, '--pin', pin],
      { encoding: 'utf8' },
    );
    assert.equal(m.status, 0, `migrate: ${m.stderr}`);
    assert.match(m.stdout, /sent \d+ of \d+ pages and the module/);
    const code = await new Promise((r) => source.on('close', r));
    assert.equal(code, 0, 'the source stops once the target holds the program');

    await tout.waitFor(/p after its reader closed: EPIPE\n/, 'the restored program to finish', 30_000);
    const moved = tout.text().replace(/^[^]*?listening on .*\n/, '');
    assert.equal(sout.text() + moved, whole.stdout, `target stderr: ${terr.text()}`);
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.on('close', r)) : null)));
    ip(['netns', 'del', src]);
    ip(['netns', 'del', dst]);
  }
});
