// Hosts of `drawbridge serve` joined through a real nats-server with JetStream (docs/cluster.md,
// src/server/cluster/): three daemons as separate processes, driven with the CLI client as a
// user would. Placement spreads spawns; `ps --cluster` lists every host's picoprocesses; kill,
// logs (followed too) and checkpoint reach the owner from another host, a snapshot bigger than
// one NATS message included; a host killed with SIGKILL drops out of the cluster within its
// records' lifetime. Then a peer's hostile requests: answered, and the host runs on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { withPadding } from '../support/wasm-padding.ts';
import type { HostRecord } from '../../src/server/cluster/cluster.ts';
import { freePort } from '../support/free-port.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { collect } from '../support/child-output.ts';
import { HOST_TTL_MS } from '../../src/server/cluster/cluster.ts';
import { readSealedSnapshot } from '../../src/checkpoint/snapshot-file.ts';
import { decodeSnapshot } from '../../src/checkpoint/snapshot.ts';
import { ensureKey } from '../../src/checkpoint/seal.ts';

const BIN = 'bin/drawbridge.js';
const COUNTER = 'build/guests/checkpoint/counter.wasm';
const hasNats = spawnSync('nats-server', ['--version']).status === 0;
const clusterTest = hasNats
  ? test
  : (name: string, _fn: () => Promise<void>) => test(name, { skip: 'needs nats-server (Debian package nats-server)' }, () => {});

const dir = mkdtempSync(join(tmpdir(), 'db-cluster-'));
// The daemons' connection files (serve-NAME.json) go under this file's own XDG_CACHE_HOME.
const env = { ...process.env, DRAWBRIDGE_CACHE: join(dir, 'cache'), DRAWBRIDGE_KEY: join(dir, 'host.key'), XDG_CACHE_HOME: join(dir, 'xdg') };
// Snapshots are sealed with the daemons' host key: this file reads them with it.
process.env.DRAWBRIDGE_KEY = env.DRAWBRIDGE_KEY;
const CLUSTER_KEY = join(dir, 'cluster.key');
ensureKey(CLUSTER_KEY);
let nats: ChildProcess | null = null;
let url = '';
let natsPort = 0;

/** nats-server with JetStream on natsPort, its store in this file's folder (kept across restarts). */
async function startNats(): Promise<void> {
  nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(dir, 'js')], { stdio: 'ignore' });
  await until('nats-server listens', () => (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${natsPort}`]).status === 0 ? true : null));
}
const hosts = new Map<string, { p: ChildProcess; err: ReturnType<typeof collect> }>();

async function startHost(name: string, labels?: string): Promise<void> {
  // Every host has the cluster's key: what they hand each other is sealed with it.
  const p = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--name',
      name,
      '--cluster',
      url,
      '--cluster-key',
      CLUSTER_KEY,
      ...(labels ? ['--labels', labels] : []),
      '--workers',
      '1',
      '--warm-up',
      '0',
      '-q',
    ],
    { env },
  );
  const out = collect(p, 'stdout');
  const err = collect(p, 'stderr');
  hosts.set(name, { p, err });
  await out.waitFor(new RegExp(`host ${name} of the cluster`));
}

/** The CLI against host `name`. */
function cli(name: string, args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...env, DRAWBRIDGE_DAEMON: name } });
}

async function until<T>(what: string, f: () => T | null | undefined | Promise<T | null | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== null && v !== undefined) return v;
    assert.ok(Date.now() < deadline, `never: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (!hasNats) return;
  natsPort = await freePort();
  url = `nats://127.0.0.1:${natsPort}`;
  await startNats();
  await Promise.all([startHost('c1', 'zone=east'), startHost('c2', 'zone=west'), startHost('c3', 'zone=west')]);
});

after(() => {
  for (const h of hosts.values()) h.p.kill('SIGKILL');
  nats?.kill();
});

/** The ids `spawn` printed. */
function spawned(name: string, args: string[]): number {
  const r = cli(name, ['spawn', ...args]);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

/** Which host runs each picoprocess, as ps --cluster says. */
function hostsOf(): Map<number, string> {
  const ps = cli('c1', ['ps', '--cluster', '--json']);
  assert.equal(ps.status, 0, ps.stderr);
  return new Map((JSON.parse(ps.stdout) as { id: number; host: string }[]).map((p) => [p.id, p.host]));
}

function hostOf(id: number): string {
  const h = hostsOf().get(id);
  assert.ok(h, `ps --cluster lists ${id}`);
  return h;
}

clusterTest('spawns through one host spread over the three; ps --cluster on another lists them all with their host', async () => {
  const ids = Array.from({ length: 6 }, () => spawned('c1', [COUNTER, '100000', '50']));
  const where = hostsOf();
  const per = new Map<string, number>();
  for (const id of ids) per.set(where.get(id)!, (per.get(where.get(id)!) ?? 0) + 1);
  assert.deepEqual([...per.entries()].sort(), [
    ['c1', 2],
    ['c2', 2],
    ['c3', 2],
  ]);
  // Each host gives ids from a range of its own: one id, one picoprocess in the whole cluster.
  const ranges = new Map<string, Set<number>>();
  for (const id of ids) ranges.set(where.get(id)!, (ranges.get(where.get(id)!) ?? new Set()).add(Math.floor(id / 1e9)));
  assert.equal(new Set([...ranges.values()].map((r) => [...r].join())).size, 3);
  const ps = cli('c2', ['ps', '--cluster', '--json']);
  assert.equal(ps.status, 0, ps.stderr);
  const listed = JSON.parse(ps.stdout) as { id: number; host: string; state: string }[];
  for (const id of ids) assert.ok(listed.some((x) => x.id === id && x.host === where.get(id)));
  const table = cli('c3', ['ps', '--cluster']);
  assert.match(table.stdout, /^HOST {2}ID /);
  for (const id of ids) cli('c1', ['kill', String(id)]);
});

clusterTest('labels place a spawn on a host that has them; none that has them is one line', async () => {
  for (let k = 0; k < 3; k++) assert.equal(hostOf(spawned('c2', ['--labels', 'zone=east', '--close-stdin', COUNTER, '3', '1'])), 'c1');
  const west = spawned('c1', ['--labels', 'zone=west', '--close-stdin', COUNTER, '3', '1']);
  assert.match(hostOf(west), /^c[23]$/);
  const none = cli('c1', ['spawn', '--labels', 'zone=north', COUNTER]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /^drawbridge spawn: no live host of the cluster has the labels \{"zone":"north"\}\n$/);
});

clusterTest("a manifest's [placement] labels place it, and its [continuity] durable = true keeps it in JetStream", async () => {
  const manifest = join(dir, 'placed.toml');
  writeFileSync(manifest, '[placement]\nlabels = { zone = "east" }\n\n[continuity]\ndurable = true\n');
  const id = spawned('c2', ['--manifest', manifest, COUNTER, '100000', '50']);
  assert.equal(hostOf(id), 'c1');
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const kv = await new Kvm(nc).open('drawbridge-durable');
    const record = await until('its state is stored', async () => {
      const e = await kv.get(String(id));
      return e && e.length > 0 ? (e.json() as { owner: string; stdout: { from: number } }) : null;
    });
    assert.equal(record.owner, 'c1');
  } finally {
    await nc.close();
  }
  writeFileSync(join(dir, 'bad.toml'), '[placement]\nlabels = { "zo ne" = "east" }\n');
  const refused = cli('c2', ['spawn', '--manifest', join(dir, 'bad.toml'), COUNTER]);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /placement\.labels.*a label name is letters, digits/);
  cli('c2', ['kill', String(id)]);
});

clusterTest('kill, logs, logs --follow and checkpoint of a picoprocess reach its owner from another host', async () => {
  // Wherever it was placed, it is reached from a host that does not run it.
  const short = spawned('c3', ['--close-stdin', COUNTER, '20', '5']);
  const from = hostOf(short) === 'c1' ? 'c2' : 'c1';
  const followed = cli(from, ['logs', '--follow', String(short)]);
  assert.equal(followed.status, 0, followed.stderr);
  assert.match(followed.stdout, /^step 0 hash [0-9a-f]{16}\n(step \d+ hash [0-9a-f]{16}\n){19}done sum 2470\n$/);
  const plain = cli(from, ['logs', String(short)]);
  assert.equal(plain.stdout, followed.stdout);

  const long = spawned('c3', [COUNTER, '100000', '50']);
  const other = hostOf(long) === 'c1' ? 'c2' : 'c1';
  await until('it printed a few steps', () => (/step 3 /.test(cli(other, ['logs', String(long)]).stdout) ? true : null));
  const snap = join(dir, 'remote.snap');
  const ck = cli(other, ['checkpoint', '--host', other, String(long), '-o', snap, '--leave-running']);
  assert.equal(ck.status, 0, ck.stderr);
  // A counter's snapshot carries its module and half a megabyte of ballast: more than one NATS message.
  assert.ok(statSync(snap).size > 700 * 1024);
  assert.equal(decodeSnapshot(readSealedSnapshot(snap).bytes).meta.module.name.endsWith('counter.wasm'), true);
  const killed = cli(other, ['kill', String(long)]);
  assert.equal(killed.status, 0, killed.stderr);
  assert.match(killed.stdout, new RegExp(`^${long} (killed|exited)`));
  const ps = JSON.parse(cli(other, ['ps', '--cluster', '--json']).stdout) as { id: number; state: string }[];
  assert.equal(ps.find((p) => p.id === long)?.state, 'exited');
});

clusterTest('move --host: checkpointed on its host, restored on another with the same id; its output goes on where it was', async () => {
  const whole = spawnSync(process.execPath, [BIN, 'run', COUNTER, '150', '30'], { encoding: 'utf8', env });
  const id = spawned('c1', ['--close-stdin', COUNTER, '150', '30']);
  const from = hostOf(id);
  const to = from === 'c1' ? 'c2' : 'c1';
  const via = ['c1', 'c2', 'c3'].find((h) => h !== from && h !== to)!;
  await until('it printed a few steps', () => (/step 3 /.test(cli(from, ['logs', String(id)]).stdout) ? true : null));
  // Asked of the third host: the request reaches the owner, which moves it.
  const moved = cli(via, ['move', String(id), '--host', to]);
  assert.equal(moved.status, 0, moved.stderr);
  assert.equal(moved.stdout, `moved ${id} to host ${to}\n`);
  assert.equal(hostOf(id), to);
  const followed = cli(from, ['logs', '--follow', String(id)]);
  assert.equal(followed.stdout, whole.stdout, 'one output, as if it had not moved');
  const info = JSON.parse(cli(to, ['ps', '--json']).stdout) as { id: number; exitCode: number }[];
  assert.equal(info.find((p) => p.id === id)?.exitCode, whole.status);
  const again = cli(via, ['move', String(id), '--host', 'nowhere']);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /picoprocess \d+ has ended|no live host nowhere/);
});

clusterTest("a peer's hostile requests over NATS are answered with an error, and the host runs on", async () => {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const ask = async (payload: string) =>
      JSON.parse((await nc.request('drawbridge.host.c2', payload, { timeout: 5000 })).string()) as { status: number; body: string };
    assert.equal((await ask('not json')).status, 400);
    assert.equal((await ask(JSON.stringify({ method: 'GET', path: '/etc/passwd' }))).status, 400);
    const forged = await ask(JSON.stringify({ method: 'POST', path: '/v1/processes', object: 'f'.repeat(32) }));
    assert.equal(forged.status, 502);
    assert.match(Buffer.from(forged.body, 'base64').toString(), /not in the transfer store/);
    const notName = await ask(JSON.stringify({ method: 'POST', path: '/v1/processes', object: '../x' }));
    assert.equal(notName.status, 502);
    // A checkpoint handed over unsealed (not with the cluster's key) is refused, whatever it holds.
    const arrive = await ask(
      JSON.stringify({
        method: 'POST',
        path: '/v1/arrive?id=42&stdout_from=0&stdout_len=0&stderr_from=0&stderr_len=0',
        body: Buffer.from('DRAWBSNP'.padEnd(200, 'x')).toString('base64'),
      }),
    );
    assert.equal(arrive.status, 400);
    assert.match(Buffer.from(arrive.body, 'base64').toString(), /is not sealed with the cluster's key/);
    // A request for a route the daemon refuses is its own answer, whole.
    const refused = await ask(JSON.stringify({ method: 'POST', path: '/v1/processes', body: Buffer.from('{"module":"relative.wasm"}').toString('base64') }));
    assert.equal(refused.status, 400);
  } finally {
    await nc.close();
  }
  const ps = cli('c2', ['ps', '--cluster']);
  assert.equal(ps.status, 0, ps.stderr);
});

/** The live hosts, as host `name`'s API lists them (GET /v1/hosts). */
async function liveHosts(name: string): Promise<string[]> {
  const c = JSON.parse(readFileSync(join(env.XDG_CACHE_HOME, 'drawbridge', `serve-${name}.json`), 'utf8')) as { url: string; token: string };
  const r = await fetch(`${c.url}/v1/hosts`, { headers: { authorization: `Bearer ${c.token}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { hosts: HostRecord[] }).hosts.map((h) => h.name);
}

clusterTest('a host killed with SIGKILL drops out of the cluster within the lifetime of its record', async () => {
  assert.deepEqual(await liveHosts('c1'), ['c1', 'c2', 'c3']);
  hosts.get('c3')!.p.kill('SIGKILL');
  const t0 = Date.now();
  let left = false;
  while (!left) {
    left = !(await liveHosts('c1')).includes('c3');
    assert.ok(Date.now() - t0 < HOST_TTL_MS + 10_000, 'c3 is still listed');
    await new Promise((r) => setTimeout(r, 100));
  }
  // Spawns go only to the live hosts, and ps --cluster lists theirs.
  const ids = Array.from({ length: 4 }, () => spawned('c1', ['--close-stdin', COUNTER, '3', '1']));
  assert.ok(
    ids.every((id) => hostOf(id) !== 'c3'),
    ids.join(' '),
  );
  const ps = cli('c2', ['ps', '--cluster']);
  assert.equal(ps.status, 0, ps.stderr);
  assert.doesNotMatch(ps.stdout, /^c3 /m);
});

clusterTest('a NATS restart in the middle: the durable picoprocess runs on where it was, once, and the cluster comes back', async () => {
  const whole = spawnSync(process.execPath, [BIN, 'run', COUNTER, '80', '50'], { encoding: 'utf8', env });
  const id = spawned('c2', ['--durable', '--labels', 'zone=east', '--close-stdin', COUNTER, '80', '50']);
  assert.equal(hostOf(id), 'c1');
  await until('it printed a few steps', () => (/step 5 /.test(cli('c1', ['logs', String(id)]).stdout) ? true : null));
  const stopped = new Promise((r) => nats!.on('exit', r));
  nats!.kill();
  await stopped;
  // Away longer than a record lives: when it is back, every host's record has lapsed.
  await new Promise((r) => setTimeout(r, HOST_TTL_MS + 2000));
  await startNats();
  // Once every host heartbeats again, and long enough for a takeover to have happened if one were
  // wrongly made: one copy, on c1, with the whole output.
  const done = await until(
    'it ended, listed once',
    () => {
      const r = cli('c2', ['ps', '--cluster', '--json']);
      if (r.status !== 0) return null;
      const copies = (JSON.parse(r.stdout) as { id: number; host: string; state: string }[]).filter((x) => x.id === id);
      return copies.length >= 1 && copies.every((c) => c.state === 'exited') ? copies : null;
    },
    30_000,
  );
  await new Promise((r) => setTimeout(r, 6000));
  const after = (JSON.parse(cli('c2', ['ps', '--cluster', '--json']).stdout) as { id: number; host: string }[]).filter((x) => x.id === id);
  assert.deepEqual(
    after.map((c) => c.host),
    ['c1'],
  );
  assert.equal(done.length, 1);
  assert.equal(cli('c2', ['logs', String(id)]).stdout, whole.stdout);
});

clusterTest(
  "a host taken for dead while it still runs (stopped with SIGSTOP past its record's life) stops its copy once it finds its durable picoprocess continued elsewhere",
  async () => {
    const whole = spawnSync(process.execPath, [BIN, 'run', COUNTER, '120', '50'], { encoding: 'utf8', env });
    const id = spawned('c2', ['--durable', '--labels', 'zone=east', '--close-stdin', COUNTER, '120', '50']);
    assert.equal(hostOf(id), 'c1');
    await until('it printed a few steps', () => (/step 5 /.test(cli('c1', ['logs', String(id)]).stdout) ? true : null));
    const c1 = hosts.get('c1')!.p;
    c1.kill('SIGSTOP');
    try {
      // Its record lapses first (HOST_TTL_MS), then c2's next look at the records takes it
      // over: a loaded machine is slow at both (30 s was once too short in CI).
      await until('c2 continues it', () => (cli('c2', ['ps', '--json']).stdout.includes(`"id": ${id}`) ? true : null), 60_000);
    } finally {
      c1.kill('SIGCONT');
    }
    // Both hosts list it for a moment; c1, heartbeating again, finds c2 its owner and kills its copy.
    const copies = await until(
      'one copy runs, on c2',
      () => {
        const r = cli('c2', ['ps', '--cluster', '--json']);
        if (r.status !== 0) return null;
        const all = (JSON.parse(r.stdout) as { id: number; host: string; state: string; reason: string | null }[]).filter((x) => x.id === id);
        const c1copy = all.find((x) => x.host === 'c1');
        return c1copy && c1copy.state !== 'running' ? all : null;
      },
      30_000,
    );
    assert.equal(copies.find((x) => x.host === 'c1')?.reason, 'killed');
    const end = JSON.parse(cli('c2', ['ps', '--json']).stdout) as { id: number }[];
    assert.ok(end.some((x) => x.id === id));
    await until('it ended on c2', () => (/done sum/.test(cli('c2', ['logs', String(id)]).stdout) ? true : null), 30_000);
    assert.equal(cli('c2', ['logs', String(id)]).stdout.slice(-200), whole.stdout.slice(-200));
  },
);

/**
 * A durable picoprocess of `module` placed on c1 (the only host with zone=east), asked of and
 * followed through c2; c1 is killed with SIGKILL once it has printed a few steps. The follower
 * must see an uninterrupted run's output, and ps --cluster the picoprocess ended on c2 with its
 * status. Returns its id.
 */
async function followedThroughFailover(module: string): Promise<number> {
  const whole = spawnSync(process.execPath, [BIN, 'run', module, '60', '50'], { encoding: 'utf8', env });
  const id = spawned('c2', ['--durable', '--labels', 'zone=east', '--close-stdin', module, '60', '50']);
  assert.equal(hostOf(id), 'c1');
  const follower = spawn(process.execPath, [BIN, 'logs', '--follow', String(id)], { env: { ...env, DRAWBRIDGE_DAEMON: 'c2' } });
  const followed = collect(follower, 'stdout');
  const ended = new Promise<number | null>((r) => follower.on('close', r));
  await followed.waitFor(/step 8 /);
  hosts.get('c1')!.p.kill('SIGKILL');
  assert.equal(await ended, 0);
  assert.equal(followed.text(), whole.stdout, 'every byte once, across the failover');
  const p = (JSON.parse(cli('c2', ['ps', '--cluster', '--json']).stdout) as { id: number; host: string; exitCode: number }[]).find((x) => x.id === id);
  assert.equal(p?.host, 'c2');
  assert.equal(p?.exitCode, whole.status);
  return id;
}

clusterTest('a durable picoprocess in log mode (its module not prepared) whose host is killed goes on on another host by replay; its output once', async () => {
  // Past the automatic size, a module is not prepared at first spawn: it runs in log mode.
  const big = join(dir, 'big-counter.wasm');
  writeFileSync(big, withPadding(readFileSync(COUNTER), 300 * 1024));
  const id = await followedThroughFailover(big);
  const listed = (JSON.parse(cli('c2', ['ps', '--cluster', '--json']).stdout) as { id: number; capture: string }[]).find((x) => x.id === id);
  assert.equal(listed?.capture, 'log');
  // c1 is gone: the next test brings it back.
  await startHost('c1', 'zone=east');
});

clusterTest('a durable picoprocess whose host is killed with SIGKILL goes on on another host; a client following its output sees every byte once', async () => {
  const id = await followedThroughFailover(COUNTER);
  const listed = (JSON.parse(cli('c2', ['ps', '--cluster', '--json']).stdout) as { id: number; capture: string }[]).find((x) => x.id === id);
  assert.equal(listed?.capture, 'snapshot');
});

clusterTest('a NATS server with a user and password: a host without them is refused in one line; with them it joins', async () => {
  const port = await freePort();
  const authed = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '--user', 'hosts', '--pass', 's3cret-pass', '-sd', join(dir, 'js-auth')], {
    stdio: 'ignore',
  });
  try {
    await until('nats-server listens', () => (spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`]).status === 0 ? true : null));
    const args = [BIN, 'serve', '--name', 'auth1', '--cluster', `nats://127.0.0.1:${port}`, '--workers', '0', '--warm-up', '0', '-q'];
    const refused = spawnSync(process.execPath, args, { encoding: 'utf8', env, timeout: 30_000 });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /^drawbridge serve: cannot reach the cluster at nats:\/\/127\.0\.0\.1:\d+: .*(Authorization|AUTHORIZATION).*: give the cluster's NATS user and password in DRAWBRIDGE_NATS_USER and DRAWBRIDGE_NATS_PASSWORD\n$/,
    );
    const joined = spawn(process.execPath, args, { env: { ...env, DRAWBRIDGE_NATS_USER: 'hosts', DRAWBRIDGE_NATS_PASSWORD: 's3cret-pass' } });
    try {
      await collect(joined, 'stdout').waitFor(/host auth1 of the cluster/);
    } finally {
      joined.kill();
    }
  } finally {
    authed.kill();
  }
});
