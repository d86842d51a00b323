// The monitor's network grants on a real Dk (the memory host's loopback network): default
// deny, listen and connect allowlists, and connects checked on the resolved address (names
// never reach the host; a granted name's answer pointing inside is refused).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Access, Create, OpenOption, StreamSide, type Dk, type Handle } from '../../src/abi/dk.ts';
import { DkError, isDkError } from '../../src/abi/errors.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import type { HostKernel } from '../../src/host/kernel/kernel.ts';
import type { LoopbackNetwork } from '../../src/host/memory/net/driver.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { parseEndpointPattern, type EndpointPattern } from '../../src/monitor/network/pattern.ts';

const RW = Access.READ | Access.WRITE;

function pattern(text: string): EndpointPattern {
  const p = parseEndpointPattern(text);
  assert.ok(typeof p !== 'string', p as string);
  return p;
}

function monitored(connect: string[], listen: string[], hosts: Record<string, string[]> = {}): Dk {
  const host = createMemoryHost() as HostKernel;
  const net = host.network as LoopbackNetwork;
  for (const [name, addrs] of Object.entries(hosts)) net.addHost(name, addrs);
  const m = { ...emptyManifest(), network: { connect: connect.map(pattern), listen: listen.map(pattern) } };
  return createMonitor(host.createProcess().dk, policyFromManifest(m));
}

function ok<T>(r: T | number): T {
  assert.ok(!isDkError(r), `unexpected error ${String(r)}`);
  return r as T;
}

function lookup(dk: Dk, name: string): string | number {
  const h = dk.streamOpen(`dns:${name}`, Access.READ, 0, 0);
  if (isDkError(h)) return h;
  const buf = new Uint8Array(256);
  let text = '';
  for (;;) {
    const n = dk.streamRead(h, -1, buf.subarray(0, 5)); // small reads: lines arrive in pieces
    if (isDkError(n)) return n;
    if (n === 0) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  dk.objectClose(h);
  return text;
}

function listen(dk: Dk, uri: string): { h: Handle; local: string } | number {
  const h = dk.streamOpen(uri, Access.READ, Create.CREATE, 0);
  if (isDkError(h)) return h;
  return { h, local: ok(dk.streamAttributesQueryByHandle(h)).localUri! };
}

describe('monitor: network grants', () => {
  it('default deny: no connect, no listen, no lookup', () => {
    const dk = monitored([], []);
    assert.equal(dk.streamOpen('tcp:127.0.0.1:80', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('udp:127.0.0.1:53', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('udp.bind:127.0.0.1:0', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('tcp.server:127.0.0.1:0', Access.READ, Create.CREATE, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('http.server:127.0.0.1:8080', Access.READ, Create.CREATE, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('dns:localhost', Access.READ, 0, 0), DkError.NOT_CAPABLE);
  });

  it('listen grants: the address and port asked for; accepting on the bound port needs no more', () => {
    const dk = monitored(['127.0.0.0/8:*'], ['127.0.0.1:0']);
    assert.equal(dk.streamOpen('tcp.server:127.0.0.1:8080', Access.READ, Create.CREATE, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('tcp.server:0.0.0.0:0', Access.READ, Create.CREATE, 0), DkError.NOT_CAPABLE);
    const s = listen(dk, 'tcp.server:127.0.0.1:0');
    assert.ok(typeof s !== 'number');
    const port = s.local.split(':').pop();
    const c = ok(dk.streamOpen(`tcp:127.0.0.1:${port}`, RW, 0, 0));
    const a = ok(dk.streamOpen(s.local, RW, 0, OpenOption.ACCEPT));
    assert.equal(dk.streamWrite(c, -1, new Uint8Array([1, 2, 3])), 3);
    assert.equal(dk.streamRead(a, -1, new Uint8Array(8)), 3);
    assert.equal(ok(dk.streamAttributesQueryByHandle(a)).peerUri, ok(dk.streamAttributesQueryByHandle(c)).localUri);
  });

  it('CIDR grants match address literals; names never reach the host', () => {
    const dk = monitored(['127.0.0.0/8:7000-7999', 'localhost:*'], ['127.0.0.1:*']);
    const s = listen(dk, 'tcp.server:127.0.0.1:7100');
    assert.ok(typeof s !== 'number');
    assert.ok(!isDkError(dk.streamOpen('tcp:127.0.0.1:7100', RW, 0, 0)));
    assert.equal(dk.streamOpen('tcp:127.0.0.1:8100', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('tcp:10.0.0.1:7100', RW, 0, 0), DkError.NOT_CAPABLE);
    // A granted name in tcp: passes the monitor but the host connects to addresses only.
    assert.equal(dk.streamOpen('tcp:localhost:7100', RW, 0, 0), DkError.INVALID_ARGUMENT);
  });

  it('a name grant allows the addresses its lookup answered, on the granted ports only', () => {
    const dk = monitored(['localhost:9000'], ['127.0.0.1:9000']);
    ok(listen(dk, 'tcp.server:127.0.0.1:9000'));
    // Before the lookup the address is not granted.
    assert.equal(dk.streamOpen('tcp:127.0.0.1:9000', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('dns:example.org', Access.READ, 0, 0), DkError.NOT_CAPABLE);
    const answer = lookup(dk, 'localhost');
    assert.equal(typeof answer, 'string');
    assert.ok((answer as string).split('\n').includes('127.0.0.1'));
    assert.ok(!isDkError(dk.streamOpen('tcp:127.0.0.1:9000', RW, 0, 0)));
    // ::1 spelled another way is the same address: granted (nobody listens there: refused by the host).
    assert.notEqual(dk.streamOpen('tcp:[0:0::1]:9000', RW, 0, 0), DkError.NOT_CAPABLE);
    assert.equal(dk.streamOpen('tcp:127.0.0.1:9001', RW, 0, 0), DkError.NOT_CAPABLE);
  });

  it('DNS rebinding: a granted name that resolves to an internal address grants nothing there', () => {
    const dk = monitored(['*.rebind.test:443'], [], {
      'evil.rebind.test': ['127.0.0.1', '10.1.2.3', '192.168.0.1', '::1', '169.254.169.254', '::ffff:127.0.0.1'],
      'good.rebind.test': ['93.184.216.34'],
    });
    assert.equal(typeof lookup(dk, 'evil.rebind.test'), 'string');
    for (const a of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '[::1]', '169.254.169.254', '[::ffff:127.0.0.1]']) {
      assert.equal(dk.streamOpen(`tcp:${a}:443`, RW, 0, 0), DkError.NOT_CAPABLE, a);
    }
    assert.equal(typeof lookup(dk, 'good.rebind.test'), 'string');
    // Granted: the monitor lets it through; the loopback network has nobody there.
    assert.equal(dk.streamOpen('tcp:93.184.216.34:443', RW, 0, 0), DkError.CONNECTION_REFUSED);
    assert.equal(dk.streamOpen('tcp:93.184.216.34:80', RW, 0, 0), DkError.NOT_CAPABLE);
  });

  it('udp.bind: binding needs a listen grant; each datagram sent is checked as a connect to its destination', () => {
    const dk = monitored(['127.0.0.1:7000-7999', 'localhost:9053'], ['127.0.0.1:0']);
    assert.equal(dk.streamOpen('udp.bind:127.0.0.1:5353', RW, 0, 0), DkError.NOT_CAPABLE); // no grant for that port
    const peer = ok(dk.streamOpen('udp.bind:127.0.0.1:0', RW, 0, 0)); // any free port: granted
    const peerUri = ok(dk.streamAttributesQueryByHandle(peer)).localUri!.replace('udp.bind:', 'udp:');
    const s = ok(dk.streamOpen('udp.bind:127.0.0.1:0', RW, 0, 0));
    const send = (to: string, text: string): number => dk.streamWrite(s, -1, new TextEncoder().encode(`${to}\n${text}`));
    // The ephemeral port of `peer` is no granted destination; 7000-7999 is.
    assert.equal(send(peerUri, 'x'), DkError.NOT_CAPABLE);
    assert.equal(send('udp:127.0.0.1:7007', 'hi'), 'udp:127.0.0.1:7007\nhi'.length);
    assert.equal(send('udp:10.0.0.1:7007', 'hi'), DkError.NOT_CAPABLE);
    assert.equal(send('tcp:127.0.0.1:7007', 'hi'), DkError.INVALID_ARGUMENT);
    assert.equal(dk.streamWrite(s, -1, new TextEncoder().encode('no destination')), DkError.INVALID_ARGUMENT);
    // A name grant covers what its lookup answered, on its port.
    assert.equal(send('udp:127.0.0.1:9053', 'q'), DkError.NOT_CAPABLE);
    assert.equal(typeof lookup(dk, 'localhost'), 'string');
    assert.equal(send('udp:127.0.0.1:9053', 'q'), 'udp:127.0.0.1:9053\nq'.length);
    // A bound socket cannot be handed to a child: its monitor would not check the writes.
    assert.equal(dk.processCreate('file:/bin/x.wasm', [], [0, s, 0]), DkError.NOT_CAPABLE);
    // Closed: the handle number may come back as something else, unchecked again.
    dk.objectClose(s);
    dk.objectClose(peer);
  });

  it('attributes pass localUri and peerUri through', () => {
    const dk = monitored(['127.0.0.1:*'], ['127.0.0.1:0']);
    const s = listen(dk, 'tcp.server:127.0.0.1:0');
    assert.ok(typeof s !== 'number');
    assert.match(s.local, /^tcp\.server:127\.0\.0\.1:\d+$/);
    const ev = ok(dk.streamGetEvent(s.h, StreamSide.WRITE));
    assert.equal(dk.eventPeek(ev), 1); // settled at once on the loopback network
  });
});
