// The ABI's one grammar of addresses and stream URIs (src/abi/ip.ts, src/abi/uri.ts), which
// the kernel, the monitor and the library OS all use: checked against Node's own parser on
// random input, and on the spellings that parsers are known to disagree on.

import test from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { isIp, ipValue, isLoopbackIp, parseIp, parseIPv6 } from '../../src/abi/ip.ts';
import { NETWORK_SCHEMES, SCHEMES, formatAddress, isResolvableName, parseSocketAddress, schemeOf, schemeSpec } from '../../src/abi/uri.ts';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);

test('IP literals: the same verdict as node:net on generated addresses and on random text', () => {
  const text = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), fc.string({ maxLength: 48 }), fc.stringMatching(/^[0-9a-f:.]{0,46}$/));
  fc.assert(
    fc.property(text, (t) => {
      if (t.includes('%')) return; // zones: node accepts them, the ABI does not
      assert.equal(isIp(t), isIP(t) !== 0, `"${t}"`);
      if (isIP(t) !== 0) assert.equal(parseIp(t)!.family, isIP(t));
    }),
    { seed, numRuns: 3000 },
  );
});

test('IPv6 bytes: every spelling of an address gives the same bytes as its URL-normalised form', () => {
  fc.assert(
    fc.property(fc.ipV6(), (t) => {
      const normal = new URL(`http://[${t}]/`).hostname.slice(1, -1);
      assert.deepEqual(parseIPv6(t), parseIPv6(normal), `${t} vs ${normal}`);
    }),
    { seed, numRuns: 2000 },
  );
  assert.equal(ipValue(parseIPv6('::ffff:127.0.0.1')!), 0xffff7f000001n);
  assert.equal(ipValue(parseIPv6('1::')!), 1n << 112n);
});

test('spellings refused: leading zeros, zones, short forms, a "::" that stands for nothing', () => {
  for (const bad of [
    '010.0.0.1',
    '1.2.3',
    '1.2.3.4.5',
    '0x7f.0.0.1',
    '256.0.0.1',
    'fe80::1%eth0',
    '1:2:3:4:5:6:7:8::',
    ':::',
    '1::2::3',
    '::1.2.3',
    '1.2.3.4::',
  ]) {
    assert.equal(parseIp(bad), null, bad);
  }
});

test('socket addresses: IPv4 bare, IPv6 bracketed, ports 0-65535, names refused', () => {
  assert.deepEqual(parseSocketAddress('127.0.0.1:80'), { host: '127.0.0.1', port: 80, family: 4 });
  assert.deepEqual(parseSocketAddress('[::1]:0'), { host: '::1', port: 0, family: 6 });
  assert.deepEqual(parseSocketAddress('[FE80::A]:65535'), { host: 'fe80::a', port: 65535, family: 6 });
  for (const bad of ['::1:80', '[127.0.0.1]:80', '127.0.0.1:65536', '127.0.0.1:', 'localhost:80', '[::1]80', '127.0.0.1:+80']) {
    assert.equal(parseSocketAddress(bad), null, bad);
  }
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), fc.integer({ min: 0, max: 65535 }), (host, port) => {
      const a = parseSocketAddress(formatAddress({ host, port }));
      assert.ok(a, `${host} ${port}`);
      assert.equal(a.port, port);
      assert.deepEqual(parseIp(a.host)!.bytes, parseIp(host)!.bytes);
    }),
    { seed, numRuns: 1000 },
  );
});

test('names dns: may look up: host names (one trailing dot), IP literals; nothing else', () => {
  for (const ok of ['example.com', 'example.com.', 'a-b.c', '127.0.0.1', '::1', 'x'.repeat(63)]) assert.ok(isResolvableName(ok), ok);
  for (const bad of ['', 'a..b', '-a.com', 'a-.com', 'a_b.com', 'x'.repeat(64), `${'a.'.repeat(127)}ab`, 'a b']) assert.ok(!isResolvableName(bad), bad);
});

test('schemes: one table; every network scheme has a direction, nothing else has one', () => {
  for (const [name, spec] of Object.entries(SCHEMES)) assert.equal(spec.kind === 'network', spec.direction !== undefined, name);
  assert.deepEqual([...NETWORK_SCHEMES].sort(), ['dns', 'http.server', 'tcp', 'tcp.server', 'udp', 'udp.bind']);
  assert.equal(schemeOf('tcp:1.2.3.4:5'), 'tcp');
  assert.equal(schemeOf(':x'), null);
  assert.equal(schemeSpec('toString'), undefined);
  assert.equal(schemeSpec('__proto__'), undefined);
});

test('loopback literals: 127.0.0.0/8 and ::1 in every spelling; nothing else, no names', () => {
  for (const ok of ['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:7f00:1']) assert.ok(isLoopbackIp(ok), ok);
  for (const bad of ['128.0.0.1', '127.999.0.1', '::', '::2', '10.0.0.1', 'localhost', '', '0.0.0.0', '::ffff:10.0.0.1']) assert.ok(!isLoopbackIp(bad), bad);
});
