// `node bench/cluster.ts [SPAWNS]`: drawbridge serve hosts joined through NATS (docs/cluster.md),
// each host a separate `drawbridge serve --cluster` process on this machine, a fresh
// nats-server (JetStream) per row, driven through the first host's HTTP API as a program
// talking to the cluster would (16 requests in flight):
// - spawns per second through the cluster with 1, 2 and 3 hosts, against one daemon without a
//   cluster, each picoprocess a guest that exits at once (placement, the owner record, and for
//   a picoprocess placed elsewhere the request carried there and back);
// - a move of a running picoprocess between two hosts against one between two workers of a host;
// - a failover: the time from a host's SIGKILL to the next output of its durable picoprocess,
//   read through another host.
// Needs nats-server (Debian package nats-server).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE, ROOT } from './lib/paths.ts';
import { median } from './lib/stats.ts';

const SPAWNS = Number(process.argv[2] ?? 300);
const IN_FLIGHT = 16;
const EXIT = join(ROOT, 'build', 'guests', 'runtime', 'exit_code.wasm');
const COUNTER = join(ROOT, 'build', 'guests', 'checkpoint', 'counter.wasm');
const BIN = join(ROOT, 'bin', 'drawbridge.js');

if (spawnSync('nats-server', ['--version']).status !== 0) {
  console.log('cluster: skipped: needs nats-server (Debian package nats-server)');
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'db-bench-cluster-'));
const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache'), XDG_CACHE_HOME: join(dir, 'xdg') };
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function startNats(): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const p = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', mkdtempSync(join(dir, 'js-'))], { stdio: 'ignore' });
  children.push(p);
  for (let k = 0; k < 100 && spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status !== 0; k++) await new Promise((r) => setTimeout(r, 50));
  return { url: `nats://127.0.0.1:${port}`, stop: () => p.kill() };
}

/** A `drawbridge serve` (in the cluster at `url` if given); resolves with its API's address and token. */
async function startHost(name: string, url: string | null, workers = 1, labels?: string): Promise<{ api: string; token: string; p: ChildProcess }> {
  const args = [BIN, 'serve', '--name', name, '--workers', String(workers), '-q', ...(url ? ['--cluster', url] : []), ...(labels ? ['--labels', labels] : [])];
  const p = spawn(NODE, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (url ? /host \S+ of the cluster/.test(out) : /listening on/.test(out)) resolve();
    });
    p.on('exit', () => reject(new Error(`serve ${name} ended: ${out}`)));
  });
  const c = JSON.parse(readFileSync(join(env.XDG_CACHE_HOME, 'drawbridge', `serve-${name}.json`), 'utf8')) as { url: string; token: string };
  return { api: c.url, token: c.token, p };
}

async function api(h: { api: string; token: string }, method: string, path: string, body?: unknown): Promise<any> {
  const r = await fetch(h.api + path, { method, headers: { authorization: `Bearer ${h.token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = (await r.json()) as { error?: string };
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${answer.error}`);
  return answer;
}

/** SPAWNS picoprocesses that exit at once, through `h`; spawns per second. */
async function spawnRate(h: { api: string; token: string }): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < SPAWNS) await api(h, 'POST', '/v1/processes', { module: EXIT, args: ['0'], closeStdin: true });
    }),
  );
  return SPAWNS / ((performance.now() - t) / 1000);
}

try {
  const rows: string[] = [];
  {
    const solo = await startHost('solo', null);
    await spawnRate(solo); // warm
    rows.push(`| one daemon, no cluster | ${(await spawnRate(solo)).toFixed(0)} |`);
    solo.p.kill();
  }
  for (const n of [1, 2, 3]) {
    const nats = await startNats();
    const hosts = [];
    for (let k = 1; k <= n; k++) hosts.push(await startHost(`h${n}x${k}`, nats.url));
    await spawnRate(hosts[0]!);
    rows.push(`| ${n} host${n > 1 ? 's' : ''} through NATS | ${(await spawnRate(hosts[0]!)).toFixed(0)} |`);
    for (const h of hosts) h.p.kill();
    nats.stop();
  }
  console.log(`\nspawns per second through the first host's API (${SPAWNS} spawns, ${IN_FLIGHT} in flight, 2 cores; picoprocesses that exit at once)\n`);
  console.log('| | spawns/s |\n|---|---|\n' + rows.join('\n'));

  const nats = await startNats();
  // Host ma has two workers: a move between them, then one to host mb.
  const a = await startHost('ma', nats.url, 2);
  const b = await startHost('mb', nats.url);
  const between = { workers: [] as number[], hosts: [] as number[] };
  for (let rep = 0; rep < 5; rep++) {
    const { process: p } = await api(a, 'POST', '/v1/processes', { module: COUNTER, args: ['100000', '20'], host: 'ma' });
    await new Promise((r) => setTimeout(r, 200));
    let t = performance.now();
    await api(a, 'POST', `/v1/processes/${p.id}/move`);
    between.workers.push(performance.now() - t);
    t = performance.now();
    await api(a, 'POST', `/v1/processes/${p.id}/move?host=mb`);
    between.hosts.push(performance.now() - t);
    await api(b, 'POST', `/v1/processes/${p.id}/kill`);
  }
  const [w, h] = [median(between.workers), median(between.hosts)];
  console.log(`\nmove of a running picoprocess (counter: its module and half a megabyte of ballast), median of 5\n`);
  console.log(
    `| | ms |\n|---|---|\n| between two workers of one host | ${w.toFixed(1)} |\n| between two hosts (same machine) | ${h.toFixed(1)} |\n| ratio | ${(h / w).toFixed(2)}x |`,
  );

  // Failover: a durable picoprocess on host fa, followed through fb's API from its offset; fa
  // is killed with SIGKILL; the time until the follower gets its next new byte.
  const nats2 = await startNats();
  const fa = await startHost('fa', nats2.url, 1, 'zone=a');
  const fb = await startHost('fb', nats2.url);
  // A new host takes over only once steady (no heartbeat missed in its first seconds).
  await new Promise((r) => setTimeout(r, 6000));
  const { process: d } = await api(fb, 'POST', '/v1/processes', {
    module: COUNTER,
    args: ['100000', '20'],
    durable: true,
    labels: { zone: 'a' },
    closeStdin: true,
  });
  let offset = 0;
  const readOn = async (): Promise<number> => {
    const r = await fetch(`${fb.api}/v1/processes/${d.id}/stdout?from=${offset}`, { headers: { authorization: `Bearer ${fb.token}` } });
    if (!r.ok) return 0;
    const bytes = new Uint8Array(await r.arrayBuffer());
    const at = Number(r.headers.get('x-drawbridge-from') ?? offset);
    const fresh = Math.max(0, at + bytes.length - offset);
    offset = Math.max(offset, at + bytes.length);
    return fresh;
  };
  while (offset < 2000) {
    await readOn();
    await new Promise((r) => setTimeout(r, 20));
  }
  const killedAt = performance.now();
  fa.p.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 50));
  await readOn();
  let waited = 0;
  while ((await readOn()) === 0) {
    await new Promise((r) => setTimeout(r, 20));
    waited = performance.now() - killedAt;
    if (waited > 60_000) throw new Error('no output continued within 60 s');
  }
  waited = performance.now() - killedAt;
  console.log(
    `\nfailover: a durable picoprocess's next output, read through another host, ${(waited / 1000).toFixed(2)} s after its host was killed with SIGKILL`,
  );
} finally {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
