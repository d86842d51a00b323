// GET /v1/events, the web console's live view: the process list when it changes, host and
// per-process stats, heartbeats; a bounded number of streams (one more is refused, one that
// closes frees its place); the console's session cookie works as the token does.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { call } from '../../src/server/client.ts';
import type { ProcessInfo } from '../../src/server/supervisor.ts';
import { http, logIn, originOf } from './console-http.ts';

const IDLE = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density', 'idle.wasm');
const TOKEN = 'console-events-token';
let d: Daemon;

before(async () => {
  d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 1, warmUp: 0, events: { statsMs: 100, heartbeatMs: 100, maxSubscribers: 2 } });
});
after(async () => {
  await d.close();
});

interface Event {
  name: string;
  data: any;
}

/** An open event stream: its events in order, and its comments. */
class Stream {
  readonly events: Event[] = [];
  comments = 0;
  private buffer = '';
  private waiters: (() => void)[] = [];
  readonly res: IncomingMessage;
  readonly close: () => void;
  constructor(res: IncomingMessage, close: () => void) {
    this.res = res;
    this.close = close;
    res.setEncoding('utf8');
    res.on('data', (text: string) => {
      this.buffer += text;
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (block.startsWith(':')) this.comments++;
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name && data) this.events.push({ name, data: JSON.parse(data) });
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first event (from `from` on) named `name` for which `ok` holds; a liveness bound names what was awaited. */
  async next(name: string, ok: (data: any) => boolean = () => true, from = 0): Promise<{ data: any; index: number }> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const index = this.events.findIndex((e, i) => i >= from && e.name === name && ok(e.data));
      if (index >= 0) return { data: this.events[index]!.data, index };
      if (Date.now() > deadline) throw new Error(`no ${name} event came that was awaited; got ${JSON.stringify(this.events.slice(-3))}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }
}

function open(headers: Record<string, string>): Promise<Stream | { status: number; text: string }> {
  const u = new URL(d.connection.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), path: '/v1/events', headers }, (res) => {
      if (res.statusCode !== 200) {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
        return;
      }
      resolve(new Stream(res, () => req.destroy()));
    });
    req.on('error', reject);
    req.end();
  });
}

const bearer = { authorization: `Bearer ${TOKEN}` };

test('the stream sends the process list as it changes, host and per-process stats, and heartbeats', async () => {
  const s = (await open(bearer)) as Stream;
  try {
    assert.equal(s.res.headers['content-type'], 'text/event-stream');
    const first = await s.next('processes');
    assert.deepEqual(first.data, { processes: [], total: 0 });
    const stats = await s.next('stats');
    const host = stats.data.host;
    assert.ok(host.cores >= 1 && host.rssBytes > 0 && host.totalMemoryBytes > 0 && host.cpu >= 0 && host.cpu <= 1, JSON.stringify(host));

    const { process: p } = (await call(d.connection, 'POST', '/v1/processes', { body: { module: IDLE } })) as { process: ProcessInfo };
    const listed = await s.next('processes', (x) => x.processes.some((q: ProcessInfo) => q.id === p.id && q.state === 'running'));
    assert.equal(listed.data.total, 1);
    // Its figures: its linear memory, its output as it writes.
    await call(d.connection, 'POST', `/v1/processes/${p.id}/stdin`, { raw: new TextEncoder().encode('hello\n') });
    const figures = await s.next('stats', (x) => x.processes.some((q: any) => q.id === p.id && q.memoryBytes > 0 && q.stdoutBytes === 'echo: hello\n'.length));
    assert.ok(figures.data.host.guestMemoryBytes > 0);
    // Stats alone do not resend the list: it comes again only when the table changes.
    const lists = s.events.filter((e) => e.name === 'processes').length;
    await s.next('stats', () => true, figures.index + 1);
    assert.equal(s.events.filter((e) => e.name === 'processes').length, lists);

    await call(d.connection, 'POST', `/v1/processes/${p.id}/kill`);
    const ended = await s.next('processes', (x) => x.processes.some((q: ProcessInfo) => q.id === p.id && q.state === 'exited' && q.reason === 'killed'));
    assert.ok(ended.index > listed.index);
    await call(d.connection, 'DELETE', `/v1/processes/${p.id}`);
    await s.next('processes', (x) => x.total === 0, ended.index + 1);
    const beats = s.comments;
    await new Promise<void>((r) => {
      const check = setInterval(() => s.comments > beats && (clearInterval(check), r()), 10);
    });
  } finally {
    s.close();
  }
});

test('at most maxSubscribers streams at once; one that closes frees its place', async () => {
  const a = (await open(bearer)) as Stream;
  const b = (await open(bearer)) as Stream;
  try {
    const refused = (await open(bearer)) as { status: number; text: string };
    assert.equal(refused.status, 503);
    assert.match((JSON.parse(refused.text) as { error: string }).error, /too many event streams open \(2\)/);
    a.close();
    // The daemon sees the close, then takes a new stream.
    let c: Stream | { status: number } = refused;
    while (!(c instanceof Stream)) c = await open(bearer);
    await c.next('processes');
    c.close();
  } finally {
    a.close();
    b.close();
  }
});

test("the console's session cookie opens the stream from its own page; another origin's page cannot", async () => {
  const { cookie } = await logIn(d.connection, TOKEN);
  const page = (await open({ cookie: `drawbridge_session=${cookie}`, 'sec-fetch-site': 'same-origin' })) as Stream;
  try {
    await page.next('processes');
  } finally {
    page.close();
  }
  const other = (await open({ cookie: `drawbridge_session=${cookie}`, origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site' })) as { status: number };
  assert.equal(other.status, 403);
  const none = await http(d.connection, 'GET', '/v1/events', { headers: { origin: originOf(d.connection) } });
  assert.equal(none.status, 401);
});
