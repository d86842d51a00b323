// The web console of a host in a cluster (docs/cluster.md): its event stream lists the
// cluster's live hosts (the `hosts` event, with this host's name), which the console shows and
// offers for spawn and move. Two daemons in this process, joined through a real nats-server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../support/free-port.ts';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';

const hasNats = spawnSync('nats-server', ['--version']).status === 0;
const TOKEN = 'console-cluster-token';
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-console-cluster-'));
process.env.DRAWBRIDGE_CACHE = join(dir, 'cache');
let nats: ChildProcess | null = null;
const daemons: Daemon[] = [];

async function listening(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  if (!hasNats) return;
  const port = await freePort();
  nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js')], { stdio: 'ignore' });
  await listening(port);
  for (const name of ['alpha', 'beta'])
    daemons.push(await startDaemon({ connectionFile: null, token: TOKEN, workers: 1, warmUp: 0, cluster: { url: `nats://127.0.0.1:${port}`, name } }));
});
after(async () => {
  for (const d of daemons) await d.close();
  nats?.kill();
});

test("a host's event stream lists the cluster's live hosts", { skip: hasNats ? false : 'needs nats-server (Debian package nats-server)' }, async () => {
  const u = new URL(daemons[0]!.connection.url!);
  const hosts = await new Promise<{ name: string; hosts: { name: string }[] }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), path: '/v1/events', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        for (const m of text.matchAll(/^event: hosts\ndata: (.*)$/gm)) {
          const data = JSON.parse(m[1]!) as { name: string; hosts: { name: string }[] };
          if (data.hosts.length === 2) {
            req.destroy();
            resolve(data);
          }
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(hosts.name, 'alpha');
  assert.deepEqual(hosts.hosts.map((h) => h.name).sort(), ['alpha', 'beta']);
});
