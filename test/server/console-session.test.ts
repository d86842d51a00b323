// The web console's session: the token entered once buys an HttpOnly, SameSite=Strict cookie;
// every /v1 route takes it or the bearer token. Each attack below was written before the
// defence: a cross-origin (or same-site, other-port) request riding the cookie, a request
// with neither credential, a forged or expired session id, guessing the token at the login,
// a session table grown without bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startDaemon, type Daemon } from '../../src/server/daemon.ts';
import { request, type IncomingMessage } from 'node:http';
import { SessionTable } from '../../src/server/console/sessions.ts';
import { clearedCookieLine, sessionCookieLine } from '../../src/server/console/cookie.ts';
import { fromPage, http, logIn, originOf, type Answer } from './console-http.ts';

const IDLE = join(import.meta.dirname, '..', '..', 'build', 'guests', 'density', 'idle.wasm');
const TOKEN = 'console-session-token';

let now = 1_000_000;
const sessions = new SessionTable({ now: () => now, max: 3, idleMs: 60_000, lifetimeMs: 600_000, loginFailures: 4, loginWindowMs: 30_000 });
let d: Daemon;

before(async () => {
  d = await startDaemon({ connectionFile: null, token: TOKEN, workers: 0, warmUp: 0, sessions });
});
after(async () => {
  await d.close();
});

function errorOf(a: Answer): string {
  assert.equal(a.headers['content-type'], 'application/json', a.text);
  assert.equal(a.text.trim().split('\n').length, 1, 'one line');
  return (JSON.parse(a.text) as { error: string }).error;
}

/** How many picoprocesses the daemon has, asked with the token. */
async function count(): Promise<number> {
  const a = await http(d.connection, 'GET', '/v1/processes', { headers: { authorization: `Bearer ${TOKEN}` } });
  return (JSON.parse(a.text) as { processes: unknown[] }).processes.length;
}

const spawnBody = JSON.stringify({ module: IDLE, closeStdin: true });

test('a request with neither the token nor a session cookie is refused', async () => {
  const c = d.connection;
  for (const [method, path] of [
    ['GET', '/v1/processes'],
    ['POST', '/v1/processes'],
    ['GET', '/v1/events'],
  ] as const) {
    const a = await http(c, method, path, {
      headers: { origin: originOf(c), 'sec-fetch-site': 'same-origin' },
      body: method === 'POST' ? spawnBody : undefined,
    });
    assert.equal(a.status, 401, `${method} ${path}`);
    errorOf(a);
  }
  assert.equal(await count(), 0);
});

test('login sets an HttpOnly, SameSite=Strict, Path=/ cookie; the cookie works on /v1 from the same origin; logout ends it', async () => {
  const c = d.connection;
  const { answer, cookie } = await logIn(c, TOKEN);
  assert.equal(answer.status, 204, answer.text);
  assert.ok(cookie && /^[A-Za-z0-9_-]{43}$/.test(cookie), `a random id: ${cookie}`);
  const set = String(answer.headers['set-cookie']);
  assert.match(set, /; HttpOnly/);
  assert.match(set, /; SameSite=Strict/);
  assert.match(set, /; Path=\//);
  assert.doesNotMatch(set, /Secure/, 'plain HTTP on loopback: no Secure flag');
  // A second login gets another id.
  const again = await logIn(c, TOKEN);
  assert.notEqual(again.cookie, cookie);

  const list = await http(c, 'GET', '/v1/processes', { headers: fromPage(c, cookie) });
  assert.equal(list.status, 200, list.text);
  const spawned = await http(c, 'POST', '/v1/processes', { headers: fromPage(c, cookie, { 'content-type': 'application/json' }), body: spawnBody });
  assert.equal(spawned.status, 201, spawned.text);
  const id = (JSON.parse(spawned.text) as { process: { id: number } }).process.id;
  await http(c, 'GET', `/v1/processes/${id}/wait`, { headers: fromPage(c, cookie) });
  assert.equal((await http(c, 'DELETE', `/v1/processes/${id}`, { headers: fromPage(c, cookie) })).status, 200);

  const out = await http(c, 'DELETE', '/v1/session', { headers: fromPage(c, cookie) });
  assert.equal(out.status, 204, out.text);
  assert.match(String(out.headers['set-cookie']), /^drawbridge_session=; .*Max-Age=0/);
  const after = await http(c, 'GET', '/v1/processes', { headers: fromPage(c, cookie) });
  assert.equal(after.status, 401);
  // The other session is still good.
  assert.equal((await http(c, 'GET', '/v1/processes', { headers: fromPage(c, again.cookie!) })).status, 200);
});

test('a cross-origin request with the session cookie is refused and does nothing', async () => {
  const c = d.connection;
  const { cookie } = await logIn(c, TOKEN);
  assert.ok(cookie);
  const before = await count();
  const json = { 'content-type': 'application/json' };
  const attacks: Record<string, string>[] = [
    // Another site's page.
    { cookie: `drawbridge_session=${cookie}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', ...json },
    // A page of another port of the same host (a guest's web server): same site, other origin.
    { cookie: `drawbridge_session=${cookie}`, origin: 'http://127.0.0.1:1', 'sec-fetch-site': 'same-site', ...json },
    // The origin right, Sec-Fetch-Site saying otherwise.
    { cookie: `drawbridge_session=${cookie}`, origin: originOf(c), 'sec-fetch-site': 'cross-site', ...json },
    // Neither header: a state-changing call needs one of them.
    { cookie: `drawbridge_session=${cookie}`, ...json },
    // The null origin of a sandboxed frame.
    { cookie: `drawbridge_session=${cookie}`, origin: 'null', ...json },
  ];
  for (const headers of attacks) {
    const a = await http(c, 'POST', '/v1/processes', { headers, body: spawnBody });
    assert.equal(a.status, 403, JSON.stringify(headers));
    assert.match(errorOf(a), /cross-origin/);
  }
  // Reads too: the event stream and the list are not for other origins.
  const read = await http(c, 'GET', '/v1/processes', {
    headers: { cookie: `drawbridge_session=${cookie}`, origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(read.status, 403);
  // Login from another origin is refused as well (login CSRF).
  const login = await http(c, 'POST', '/v1/session', {
    headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', ...json },
    body: JSON.stringify({ token: TOKEN }),
  });
  assert.equal(login.status, 403);
  assert.equal(login.headers['set-cookie'], undefined);
  assert.equal(await count(), before);
  // The bearer token is no ambient credential: it works whatever the origin (a non-browser client).
  const bearer = await http(c, 'GET', '/v1/processes', { headers: { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' } });
  assert.equal(bearer.status, 200);
});

test('a forged or expired session id is refused', async () => {
  const c = d.connection;
  for (const forged of ['', 'x', 'A'.repeat(43), 'not a cookie at all; drawbridge_session']) {
    const a = await http(c, 'GET', '/v1/processes', { headers: fromPage(c, forged) });
    assert.equal(a.status, 401, forged);
    errorOf(a);
  }
  // Idle past idleMs: refused.
  const idle = (await logIn(c, TOKEN)).cookie!;
  now += 60_001;
  assert.equal((await http(c, 'GET', '/v1/processes', { headers: fromPage(c, idle) })).status, 401);
  // Used all along, but past its lifetime: refused too.
  const used = (await logIn(c, TOKEN)).cookie!;
  for (let t = 0; t < 11; t++) {
    now += 59_000;
    const a = await http(c, 'GET', '/v1/health', { headers: fromPage(c, used) });
    assert.equal(a.status, t < 10 ? 200 : 401, `after ${t + 1} minutes`);
  }
  // A wrong bearer token is not saved by a good cookie.
  const good = (await logIn(c, TOKEN)).cookie!;
  const both = await http(c, 'GET', '/v1/processes', { headers: fromPage(c, good, { authorization: 'Bearer wrong' }) });
  assert.equal(both.status, 401);
});

test('the session table is bounded: a login past the bound drops the oldest session', async () => {
  const c = d.connection;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await logIn(c, TOKEN)).cookie!);
  assert.equal(sessions.size, 3);
  assert.equal((await http(c, 'GET', '/v1/health', { headers: fromPage(c, ids[0]!) })).status, 401);
  for (const id of ids.slice(1)) assert.equal((await http(c, 'GET', '/v1/health', { headers: fromPage(c, id) })).status, 200);
});

test('login with a wrong token says nothing more, and login attempts are rate limited', async () => {
  const c = d.connection;
  now += 60_000; // a fresh window
  const wrong = await Promise.all(['wrong', '', TOKEN.slice(0, -1)].map((t) => logIn(c, t)));
  const missing = await http(c, 'POST', '/v1/session', { headers: { origin: originOf(c), 'content-type': 'application/json' }, body: '{}' });
  for (const a of [...wrong.map((w) => w.answer), missing]) {
    assert.equal(a.status, 401, a.text);
    assert.equal(errorOf(a), 'wrong token');
    assert.equal(a.headers['set-cookie'], undefined);
  }
  // Four failures in the window: the next attempt is refused, even with the right token.
  const limited = await logIn(c, TOKEN);
  assert.equal(limited.answer.status, 429);
  assert.equal(limited.cookie, null);
  assert.match(errorOf(limited.answer), /too many login attempts/);
  // Once the window has passed, the right token works again.
  now += 30_001;
  assert.equal((await logIn(c, TOKEN)).answer.status, 204);
});

test("the cookie is Secure when the request came over a TLS socket of the daemon's, and so is its clearing", () => {
  const overTls = { headers: {}, socket: { encrypted: true } } as unknown as IncomingMessage;
  const plain = { headers: {}, socket: {} } as unknown as IncomingMessage;
  assert.match(sessionCookieLine(overTls, 'id', 60_000), /^drawbridge_session=id; HttpOnly; SameSite=Strict; Path=\/; Max-Age=60; Secure$/);
  assert.match(clearedCookieLine(overTls), /; Secure$/);
  assert.doesNotMatch(sessionCookieLine(plain, 'id', 60_000), /Secure/);
});

/** A liveness bound: a stream left open becomes a failure that names what was awaited. */
function bounded(p: Promise<void>, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still open: ${what}`)), 60_000))),
  ]);
}

/** Open GET /v1/events with session `id`: resolves with its status once answered, and `closed` once the daemon ends it. */
function openEvents(id: string): Promise<{ status: number; closed: Promise<void>; destroy: () => void }> {
  const u = new URL(d.connection.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), path: '/v1/events', headers: fromPage(d.connection, id) }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, closed: new Promise((r) => res.on('close', () => r())), destroy: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

test('what a session opened ends with it: a logout, or its expiry found by the sweep, closes its event stream', async () => {
  const c = d.connection;
  now += 60_000;
  const first = (await logIn(c, TOKEN)).cookie!;
  const stream = await openEvents(first);
  assert.equal(stream.status, 200);
  assert.equal((await http(c, 'DELETE', '/v1/session', { headers: fromPage(c, first) })).status, 204);
  await bounded(stream.closed, 'the event stream of a session logged out');

  const second = (await logIn(c, TOKEN)).cookie!;
  const other = await openEvents(second);
  const bearer = await http(c, 'GET', '/v1/health', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(bearer.status, 200);
  now += 60_001;
  sessions.sweep();
  await bounded(other.closed, 'the event stream of an expired session');
});
