// Network streams at the Dk level, on both hosts: listen, connect, accept, data both ways,
// half-close, backpressure, refusals and bad URIs; dns:; on the node host also udp: and
// http.server: with real clients. Loopback addresses only, every wait bounded.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as dgram from 'node:dgram';
import { Access, Create, OpenOption, StreamSide, type Dk, type Handle } from '../../src/abi/dk.ts';
import { DkError, isDkError } from '../../src/abi/errors.ts';
import { HOSTS } from '../support/hosts.ts';
import { createNodeHost } from '../../src/host/node/index.ts';

const RW = Access.READ | Access.WRITE;
const SECOND = 1_000_000_000n;

function ok<T>(r: T | number): T {
  assert.ok(!isDkError(r), `unexpected error ${String(r)}`);
  return r as T;
}

/** Wait (at most 5 s) until h is ready on side. */
async function ready(dk: Dk, h: Handle, side: number): Promise<void> {
  const ev = ok(dk.streamGetEvent(h, side));
  const r = await dk.objectsWaitAny([ev], 5n * SECOND);
  dk.objectClose(ev);
  assert.equal(r, 0, `handle ${h} not ready on side ${side}`);
}

async function listen(dk: Dk, uri: string): Promise<{ h: Handle; local: string }> {
  const h = ok(dk.streamOpen(uri, Access.READ, Create.CREATE, 0));
  await ready(dk, h, StreamSide.WRITE); // the listen has settled
  const a = ok(dk.streamAttributesQueryByHandle(h));
  assert.equal(a.kind, 'socket');
  assert.ok(a.localUri !== undefined);
  return { h, local: a.localUri };
}

async function accept(dk: Dk, server: Handle, local: string): Promise<Handle> {
  for (;;) {
    const c = dk.streamOpen(local, RW, 0, OpenOption.ACCEPT);
    if (c !== DkError.WOULD_BLOCK) return ok(c);
    await ready(dk, server, StreamSide.READ);
  }
}

async function connect(dk: Dk, uri: string): Promise<Handle | number> {
  const h = dk.streamOpen(uri, RW, 0, 0);
  if (isDkError(h)) return h;
  await ready(dk, h, StreamSide.WRITE);
  const r = dk.streamWrite(h, -1, new Uint8Array(0));
  if (isDkError(r)) {
    dk.objectClose(h);
    return r;
  }
  return h;
}

async function readAll(dk: Dk, h: Handle): Promise<string> {
  const buf = new Uint8Array(4096);
  let text = '';
  for (;;) {
    const n = dk.streamRead(h, -1, buf);
    if (n === DkError.WOULD_BLOCK) {
      await ready(dk, h, StreamSide.READ);
      continue;
    }
    if (ok(n) === 0) return text;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

async function writeAll(dk: Dk, h: Handle, data: Uint8Array): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const n = dk.streamWrite(h, -1, data.subarray(at));
    if (n === DkError.WOULD_BLOCK) {
      await ready(dk, h, StreamSide.WRITE);
      continue;
    }
    at += ok(n);
  }
}

for (const host of HOSTS) {
  describe(`network streams on the ${host.name} host`, () => {
    it('listen on port 0, connect, accept, talk both ways, half-close', async () => {
      const p = host.create().createProcess();
      const dk = p.dk;
      const { h: server, local } = await listen(dk, 'tcp.server:127.0.0.1:0');
      assert.match(local, /^tcp\.server:127\.0\.0\.1:\d+$/);
      assert.notEqual(local, 'tcp.server:127.0.0.1:0');
      const port = local.split(':').pop();
      assert.equal(dk.streamOpen(local, RW, 0, OpenOption.ACCEPT), DkError.WOULD_BLOCK);
      const c = ok(await connect(dk, `tcp:127.0.0.1:${port}`));
      const s = await accept(dk, server, local);
      const ca = ok(dk.streamAttributesQueryByHandle(c));
      assert.equal(ca.peerUri, `tcp:127.0.0.1:${port}`);
      assert.match(ca.localUri ?? '', /^tcp:127\.0\.0\.1:\d+$/);
      assert.equal(ok(dk.streamAttributesQueryByHandle(s)).peerUri, ca.localUri);

      await writeAll(dk, c, new TextEncoder().encode('ping'));
      assert.equal(ok(dk.streamDelete(c, StreamSide.WRITE)), 0); // half-close
      assert.equal(await readAll(dk, s), 'ping'); // ... reads to end of stream
      assert.equal(dk.streamWrite(c, -1, new Uint8Array(1)), DkError.BROKEN_PIPE);
      await writeAll(dk, s, new TextEncoder().encode('pong')); // the other half still works
      dk.objectClose(s);
      assert.equal(await readAll(dk, c), 'pong');
      dk.objectClose(c);
      dk.objectClose(server);
      p.kill(0);
    });

    it('backpressure: writes answer WOULD_BLOCK when the peer does not read; reading wakes the writer', async () => {
      const p = host.create().createProcess();
      const dk = p.dk;
      const { h: server, local } = await listen(dk, 'tcp.server:127.0.0.1:0');
      const c = ok(await connect(dk, `tcp:127.0.0.1:${local.split(':').pop()}`));
      const s = await accept(dk, server, local);
      const chunk = new Uint8Array(64 * 1024).fill(7);
      let sent = 0;
      let blocked = false;
      // Bounded: the buffers on the way are some MiB at most.
      for (let i = 0; i < 4096 && !blocked; i++) {
        const n = dk.streamWrite(c, -1, chunk);
        if (n === DkError.WOULD_BLOCK) {
          // Node's socket may still be flushing into the kernel: give it a moment to fill.
          const ev = ok(dk.streamGetEvent(c, StreamSide.WRITE));
          const r = await dk.objectsWaitAny([ev], SECOND / 10n);
          dk.objectClose(ev);
          blocked = r === DkError.TIMED_OUT;
          continue;
        }
        sent += ok(n);
      }
      assert.ok(blocked, 'the writer never got WOULD_BLOCK');
      assert.equal(ok(dk.eventPeek(ok(dk.streamGetEvent(c, StreamSide.WRITE)))), 0);
      // Read everything on the other side, then the writer can go on.
      const buf = new Uint8Array(256 * 1024);
      let got = 0;
      while (got < sent) {
        const n = dk.streamRead(s, -1, buf);
        if (n === DkError.WOULD_BLOCK) {
          await ready(dk, s, StreamSide.READ);
          continue;
        }
        got += ok(n);
        assert.equal(buf[0], 7);
      }
      await ready(dk, c, StreamSide.WRITE);
      assert.ok(ok(dk.streamWrite(c, -1, chunk)) > 0);
      p.kill(0);
    });

    it('refusals: nobody listening, address in use, bad URIs, names instead of addresses', async () => {
      const k = host.create();
      const dk = k.createProcess().dk;
      const { h: server, local } = await listen(dk, 'tcp.server:127.0.0.1:0');
      const port = Number(local.split(':').pop());
      // A second listener on the same address is refused (the error is the open's or the stream's).
      const dup = dk.streamOpen(`tcp.server:127.0.0.1:${port}`, Access.READ, Create.CREATE, 0);
      if (!isDkError(dup)) {
        await ready(dk, dup, StreamSide.WRITE);
        assert.equal(dk.streamAttributesQueryByHandle(dup), DkError.ADDRESS_IN_USE);
        assert.equal(dk.streamOpen(`tcp.server:127.0.0.1:${port}`, RW, 0, OpenOption.ACCEPT), DkError.WOULD_BLOCK);
      } else assert.equal(dup, DkError.ADDRESS_IN_USE);
      dk.objectClose(server); // closed: the port is free and nobody listens
      assert.equal(await connect(dk, `tcp:127.0.0.1:${port}`), DkError.CONNECTION_REFUSED);
      // Another picoprocess cannot accept from this one's server.
      const again = await listen(dk, 'tcp.server:127.0.0.1:0');
      const other = k.createProcess().dk;
      assert.equal(other.streamOpen(again.local, RW, 0, OpenOption.ACCEPT), DkError.NOT_FOUND);
      for (const uri of [
        'tcp:localhost:80',
        'tcp:127.0.0.1',
        'tcp:127.0.0.1:0',
        'tcp:127.0.0.1:70000',
        'tcp:[::1',
        'tcp:1.2.3:80',
        'tcp.server:example.com:80',
        'udp:x:1',
        'dns:',
        'dns:bad_name!',
        'http.server:8080',
        'tcp:' + 'a'.repeat(300),
      ]) {
        assert.equal(dk.streamOpen(uri, RW, Create.CREATE, 0), DkError.INVALID_ARGUMENT, uri);
      }
      // Neither CREATE (listen) nor ACCEPT on a server URI.
      assert.equal(dk.streamOpen('tcp.server:127.0.0.1:0', RW, 0, 0), DkError.INVALID_ARGUMENT);
      assert.equal(dk.streamAttributesQuery('tcp:127.0.0.1:80', 0), DkError.NOT_SUPPORTED);
      for (const id of [1, 2]) k.process(id)?.kill(0);
    });

    it('dns: resolves localhost and literals, one address per line; unknown names NOT_FOUND', async () => {
      const p = host.create().createProcess();
      const dk = p.dk;
      const h = ok(dk.streamOpen('dns:localhost', Access.READ, 0, 0));
      const text = await readAll(dk, h);
      assert.ok(text.split('\n').includes('127.0.0.1'), text);
      assert.ok(text.endsWith('\n'));
      assert.equal(await readAll(dk, ok(dk.streamOpen('dns:10.1.2.3', Access.READ, 0, 0))), '10.1.2.3\n');
      const bad = ok(dk.streamOpen('dns:no-such-host.invalid', Access.READ, 0, 0));
      await ready(dk, bad, StreamSide.READ);
      assert.equal(dk.streamRead(bad, -1, new Uint8Array(64)), DkError.NOT_FOUND);
      p.kill(0);
    });

    it('udp.bind: a bound socket hears anyone, says where each datagram came from, and answers each at its address', async () => {
      const p = host.create().createProcess();
      const dk = p.dk;
      const server = ok(dk.streamOpen('udp.bind:127.0.0.1:0', RW, 0, 0));
      await ready(dk, server, StreamSide.WRITE); // bound
      assert.equal(dk.streamWrite(server, -1, new Uint8Array(0)), 0);
      const local = ok(dk.streamAttributesQueryByHandle(server)).localUri!;
      assert.match(local, /^udp\.bind:127\.0\.0\.1:\d+$/);
      const port = Number(local.split(':').pop());
      assert.equal(dk.streamRead(server, -1, new Uint8Array(8)), DkError.WOULD_BLOCK);
      // Two connected clients, each on a port of its own.
      const a = ok(await connect(dk, `udp:127.0.0.1:${port}`));
      const b = ok(await connect(dk, `udp:127.0.0.1:${port}`));
      const aUri = ok(dk.streamAttributesQueryByHandle(a)).localUri!;
      const bUri = ok(dk.streamAttributesQueryByHandle(b)).localUri!;
      assert.match(aUri, /^udp:127\.0\.0\.1:\d+$/);
      assert.notEqual(aUri, bUri);
      await writeAll(dk, a, new TextEncoder().encode('one'));
      await writeAll(dk, b, new TextEncoder().encode('two'));
      const buf = new Uint8Array(100);
      const heard = new Map<string, string>();
      while (heard.size < 2) {
        const n = dk.streamRead(server, -1, buf);
        if (n === DkError.WOULD_BLOCK) {
          await ready(dk, server, StreamSide.READ);
          continue;
        }
        heard.set(ok(dk.streamAttributesQueryByHandle(server)).peerUri!, new TextDecoder().decode(buf.subarray(0, ok(n))));
      }
      assert.deepEqual(
        [...heard].sort(),
        [
          [aUri, 'one'],
          [bUri, 'two'],
        ].sort(),
      );
      // The answers: a destination line, then the payload; each reaches its own client only.
      for (const [to, text] of heard) {
        const d = new TextEncoder().encode(`${to}\necho:${text}`);
        assert.equal(ok(dk.streamWrite(server, -1, d)), d.length);
      }
      const readOne = async (h: Handle): Promise<string> => {
        for (;;) {
          const n = dk.streamRead(h, -1, buf);
          if (n !== DkError.WOULD_BLOCK) return new TextDecoder().decode(buf.subarray(0, ok(n)));
          await ready(dk, h, StreamSide.READ);
        }
      };
      assert.equal(await readOne(a), 'echo:one');
      assert.equal(await readOne(b), 'echo:two');
      // One read, one datagram: the rest of a long one is lost, as recv() cuts it.
      await writeAll(dk, a, new TextEncoder().encode('0123456789'));
      await ready(dk, server, StreamSide.READ);
      assert.equal(dk.streamRead(server, -1, buf.subarray(0, 4)), 4);
      assert.equal(new TextDecoder().decode(buf.subarray(0, 4)), '0123');
      assert.equal(dk.streamRead(server, -1, buf), DkError.WOULD_BLOCK);
      // Bad destinations are refused whole.
      for (const bad of ['no line', 'udp:localhost:1\nx', 'udp:127.0.0.1:0\nx', 'tcp:127.0.0.1:1\nx', `udp:[::1]:${port}\nx`]) {
        const r = dk.streamWrite(server, -1, new TextEncoder().encode(bad));
        assert.ok(r === DkError.INVALID_ARGUMENT || (bad.includes('::1') && r === DkError.ADDRESS_NOT_AVAILABLE), `${bad}: ${r}`);
      }
      // The port is taken while bound; nothing to accept on a bound datagram socket.
      const dup = dk.streamOpen(local, RW, 0, 0);
      if (!isDkError(dup)) {
        await ready(dk, dup, StreamSide.WRITE);
        assert.equal(dk.streamWrite(dup, -1, new Uint8Array(0)), DkError.ADDRESS_IN_USE);
      } else assert.equal(dup, DkError.ADDRESS_IN_USE);
      assert.equal(dk.streamOpen(local, RW, 0, OpenOption.ACCEPT), DkError.INVALID_ARGUMENT);
      for (const h of [a, b, server]) dk.objectClose(h);
      p.kill(0);
    });

    it('http.server: requests from a tcp: client (chunked body, pipelined), each a stream pair for the guest', async () => {
      const p = host.create().createProcess();
      const dk = p.dk;
      const { h: server, local } = await listen(dk, 'http.server:127.0.0.1:0');
      assert.match(local, /^http\.server:127\.0\.0\.1:\d+$/);
      const c = ok(await connect(dk, `tcp:127.0.0.1:${local.split(':').pop()}`));
      await writeAll(
        dk,
        c,
        new TextEncoder().encode(
          'POST /p?x=1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n' +
            'GET /two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
        ),
      );
      // First request: the head as text without Transfer-Encoding, then the decoded body.
      const r1 = await accept(dk, server, local);
      const [head1, body1] = (await readAll(dk, r1)).split('\r\n\r\n');
      assert.equal(head1, 'POST /p?x=1 HTTP/1.1\r\nHost: t');
      assert.equal(body1, 'hello world');
      assert.match(ok(dk.streamAttributesQueryByHandle(r1)).peerUri ?? '', /^tcp:127\.0\.0\.1:\d+$/);
      // The response head in two writes; no Content-Length: the host frames the body.
      await writeAll(dk, r1, new TextEncoder().encode('HTTP/1.1 201 Made\r\nX-Test: yes\r\n'));
      await writeAll(dk, r1, new TextEncoder().encode('Connection: nonsense\r\n\r\ngot '));
      await writeAll(dk, r1, new TextEncoder().encode(body1!));
      dk.objectClose(r1); // ends the response
      const r2 = await accept(dk, server, local);
      assert.equal(await readAll(dk, r2), 'GET /two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n');
      await writeAll(dk, r2, new TextEncoder().encode('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo'));
      assert.equal(ok(dk.streamDelete(r2, StreamSide.WRITE)), 0);
      // The client reads both responses, then end of stream (it asked to close).
      const bytes = await readAll(dk, c);
      const [first, second] = splitResponses(bytes);
      assert.equal(first!.status, 'HTTP/1.1 201 Made');
      assert.equal(first!.headers.get('x-test'), 'yes');
      assert.equal(first!.headers.get('transfer-encoding'), 'chunked');
      assert.notEqual(first!.headers.get('connection'), 'nonsense');
      assert.equal(first!.body, 'got hello world');
      assert.equal(second!.status, 'HTTP/1.1 200 OK');
      assert.equal(second!.body, 'two');
      dk.objectClose(r2);
      dk.objectClose(c);
      // A guest that closes before completing its head gets its client a 502.
      const c2 = ok(await connect(dk, `tcp:127.0.0.1:${local.split(':').pop()}`));
      await writeAll(dk, c2, new TextEncoder().encode('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n'));
      const r3 = await accept(dk, server, local);
      await writeAll(dk, r3, new TextEncoder().encode('HTTP/1.1 200 OK\r\nX-Half'));
      dk.objectClose(r3);
      assert.match(await readAll(dk, c2), /^HTTP\/1\.1 502 /);
      p.kill(0);
    });
  });
}

/** Responses one after the other, bodies by Content-Length or chunked (as a client reads them). */
function splitResponses(text: string): { status: string; headers: Map<string, string>; body: string }[] {
  const out: { status: string; headers: Map<string, string>; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(end > 0, `no head in ${JSON.stringify(rest)}`);
    const [status, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    rest = rest.slice(end + 4);
    let body = '';
    if (headers.get('transfer-encoding') === 'chunked') {
      for (;;) {
        const eol = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, eol), 16);
        rest = rest.slice(eol + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else {
      const n = Number(headers.get('content-length') ?? 0);
      body = rest.slice(0, n);
      rest = rest.slice(n);
    }
    out.push({ status: status!, headers, body });
  }
  return out;
}

describe('network streams only the node host has', () => {
  it('udp: a connected datagram socket talks to a real UDP echo server', async () => {
    const echo = dgram.createSocket('udp4');
    echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((res) => echo.bind(0, '127.0.0.1', res));
    try {
      const dk = createNodeHost().createProcess().dk;
      const h = ok(dk.streamOpen(`udp:127.0.0.1:${echo.address().port}`, RW, 0, 0));
      await ready(dk, h, StreamSide.WRITE);
      assert.equal(ok(dk.streamWrite(h, -1, new TextEncoder().encode('one'))), 3);
      assert.equal(ok(dk.streamWrite(h, -1, new TextEncoder().encode('two'))), 3);
      const buf = new Uint8Array(100);
      const got: string[] = [];
      while (got.length < 2) {
        const n = dk.streamRead(h, -1, buf);
        if (n === DkError.WOULD_BLOCK) {
          await ready(dk, h, StreamSide.READ);
          continue;
        }
        got.push(new TextDecoder().decode(buf.subarray(0, ok(n)))); // one datagram per read
      }
      assert.deepEqual(got.sort(), ['echo:one', 'echo:two']);
      dk.objectClose(h);
    } finally {
      echo.close();
    }
  });

  it('http.server: each request is a stream pair; the guest writes the response as HTTP text', async () => {
    const p = createNodeHost().createProcess();
    const dk = p.dk;
    const { h: server, local } = await listen(dk, 'http.server:127.0.0.1:0');
    assert.match(local, /^http\.server:127\.0\.0\.1:\d+$/);
    const port = local.split(':').pop();
    const serve = (async () => {
      for (let i = 0; i < 2; i++) {
        const r = await accept(dk, server, local);
        const request = await readAll(dk, r);
        const [head, body] = request.split('\r\n\r\n');
        const line = head!.split('\r\n')[0];
        const reply = `${line} body=${body}`;
        await writeAll(dk, r, new TextEncoder().encode(`HTTP/1.1 201 Made\r\nContent-Type: text/plain\r\nX-Test: yes\r\n\r\n${reply}`));
        dk.objectClose(r); // ends the response
      }
    })();
    const a = await fetch(`http://127.0.0.1:${port}/hello?x=1`);
    assert.equal(a.status, 201);
    assert.equal(a.headers.get('x-test'), 'yes');
    assert.equal(await a.text(), 'GET /hello?x=1 HTTP/1.1 body=');
    const b = await fetch(`http://127.0.0.1:${port}/post`, { method: 'POST', body: 'data!' });
    assert.equal(await b.text(), 'POST /post HTTP/1.1 body=data!');
    await serve;
    p.kill(0);
  });
});
