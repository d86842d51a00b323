// One address, one verdict: an IPv4 address has IPv6 spellings (IPv4-mapped ::ffff:a.b.c.d,
// IPv4-compatible ::a.b.c.d) that reach the same host, and forms that lead to it through a
// translator or relay (NAT64 64:ff9b::/96, 6to4 2002::/16). The grants judge an address and
// its spellings alike (an IPv6 grant such as "[::/0]" does not open IPv4 loopback through
// ::ffff:127.0.0.1), and the filter of DNS answers refuses every form that points inside.
// The attacks first, then property tests (fast-check) over random IPv4 addresses.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Access, type Dk } from '../../src/abi/dk.ts';
import { DkError, isDkError } from '../../src/abi/errors.ts';
import { createMemoryHost } from '../../src/host/memory/index.ts';
import type { HostKernel } from '../../src/host/kernel/kernel.ts';
import type { LoopbackNetwork } from '../../src/host/memory/net/driver.ts';
import { createMonitor, policyFromManifest } from '../../src/monitor/monitor.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';
import { parseEndpointPattern, type EndpointPattern } from '../../src/monitor/network/pattern.ts';
import { isInternalAddress } from '../../src/monitor/network/resolved.ts';
import { classifyUri, networkAllowed } from '../../src/monitor/uri.ts';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const RW = Access.READ | Access.WRITE;

function pattern(text: string): EndpointPattern {
  const p = parseEndpointPattern(text);
  assert.ok(typeof p !== 'string', `${text}: ${p as string}`);
  return p;
}

function monitored(connect: string[], hosts: Record<string, string[]> = {}): Dk {
  const host = createMemoryHost() as HostKernel;
  const net = host.network as LoopbackNetwork;
  for (const [name, addrs] of Object.entries(hosts)) net.addHost(name, addrs);
  const m = { ...emptyManifest(), network: { connect: connect.map(pattern), listen: [] } };
  return createMonitor(host.createProcess().dk, policyFromManifest(m));
}

/** Look a name up through the monitor (which notes the answers it takes). */
function lookup(dk: Dk, name: string): void {
  const h = dk.streamOpen(`dns:${name}`, Access.READ, 0, 0);
  assert.ok(!isDkError(h), `dns:${name}: ${h}`);
  const buf = new Uint8Array(256);
  for (let i = 0; i < 100; i++) {
    const n = dk.streamRead(h, -1, buf);
    assert.ok(!isDkError(n), `read dns:${name}: ${n}`);
    if (n === 0) break;
  }
  dk.objectClose(h);
}

/** Whether the monitor lets a connect to `host` (an IP literal) on port 443 go down to the host. */
function connectAllowed(dk: Dk, host: string): boolean {
  const uri = host.includes(':') ? `tcp:[${host}]:443` : `tcp:${host}:443`;
  const h = dk.streamOpen(uri, RW, 0, 0);
  if (!isDkError(h)) dk.objectClose(h);
  return h !== DkError.NOT_CAPABLE;
}

/** Whether the grants (no lookups) allow a connect to `host`:443, as the monitor checks it. */
function granted(grants: string[], host: string): boolean {
  const u = classifyUri(host.includes(':') ? `tcp:[${host}]:443` : `tcp:${host}:443`);
  assert.ok(typeof u !== 'number' && u.kind === 'network', host);
  return networkAllowed({ connect: grants.map(pattern), listen: [] }, u);
}

const hex = (n: number): string => n.toString(16);
const v4Text = (v: number): string => `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff}.${v & 0xff}`;

/** The IPv6 spellings of an IPv4 address (the same address): mapped, dotted and hex; compatible. */
function sameSpellings(v: number): string[] {
  const out = [`::ffff:${v4Text(v)}`, `::ffff:${hex(v >>> 16)}:${hex(v & 0xffff)}`, `0:0:0:0:0:FFFF:${v4Text(v)}`];
  if (v > 1) out.push(`::${v4Text(v)}`); // (::0.0.0.0 and ::0.0.0.1 are IPv6's own :: and ::1)
  return out;
}

/** Forms that lead to an IPv4 address through a translator or relay: NAT64, 6to4. */
function leadingForms(v: number, subnet: number): string[] {
  return [`64:ff9b::${v4Text(v)}`, `64:ff9b::${hex(v >>> 16)}:${hex(v & 0xffff)}`, `2002:${hex(v >>> 16)}:${hex(v & 0xffff)}:${hex(subnet)}::1`];
}

describe('addresses judged once whatever their spelling', () => {
  it('attack: a "[::/0]" grant does not reach IPv4 loopback as ::ffff:127.0.0.1 or ::127.0.0.1', () => {
    const dk = monitored(['[::/0]:*']);
    assert.equal(dk.streamOpen('tcp:127.0.0.1:80', RW, 0, 0), DkError.NOT_CAPABLE);
    for (const a of ['::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '::ffff:10.0.0.1']) {
      assert.equal(dk.streamOpen(`tcp:[${a}]:80`, RW, 0, 0), DkError.NOT_CAPABLE, a);
    }
    // IPv6 itself stays granted (nobody listens: the loopback network refuses).
    assert.equal(dk.streamOpen('tcp:[::1]:80', RW, 0, 0), DkError.CONNECTION_REFUSED);
  });

  it('an IPv4 grant covers the IPv6 spellings of its addresses; a grant written mapped is the IPv4 block', () => {
    for (const grant of ['127.0.0.1:443', '[::ffff:127.0.0.1]:443', '[::ffff:127.0.0.0/104]:443']) {
      for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '::127.0.0.1']) assert.equal(granted([grant], a), true, `${grant} ${a}`);
      assert.equal(granted([grant], '::1'), false, grant);
    }
    assert.equal(granted(['[::ffff:127.0.0.0/104]:*'], '127.255.0.1'), true);
    assert.equal(granted(['[::ffff:127.0.0.0/104]:*'], '128.0.0.1'), false);
  });

  it('attack: DNS answers in IPv4-compatible, NAT64 and 6to4 forms pointing inside are not taken', () => {
    const inside = [
      '::7f00:1',
      '::127.0.0.1',
      '::a00:1',
      '64:ff9b::7f00:1',
      '64:ff9b::169.254.169.254',
      '64:ff9b::c0a8:1',
      '2002:7f00:1::1',
      '2002:a9fe:a9fe::',
      '2002:a00:1:5::7',
      'fec0::1',
    ];
    const dk = monitored(['*.rebind.test:443'], { 'evil.rebind.test': inside, 'good.rebind.test': ['64:ff9b::5db8:d822', '2002:5db8:d822::1'] });
    lookup(dk, 'evil.rebind.test');
    for (const a of inside) assert.equal(connectAllowed(dk, a), false, a);
    lookup(dk, 'good.rebind.test');
    for (const a of ['64:ff9b::5db8:d822', '2002:5db8:d822::1']) assert.equal(connectAllowed(dk, a), true, a);
  });

  it('property: every spelling of a random IPv4 address gets the verdict of the address from random IPv4 grants', () => {
    const cidr = fc.record({ base: fc.nat({ max: 0xffffffff }), prefix: fc.integer({ min: 0, max: 32 }), mapped: fc.boolean() });
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.array(cidr, { maxLength: 3 }), (v, blocks) => {
        const grants = blocks.map(({ base, prefix, mapped }) => {
          const b = prefix === 0 ? 0 : (base & (0xffffffff << (32 - prefix))) >>> 0;
          return mapped ? `[::ffff:${v4Text(b)}/${96 + prefix}]:*` : `${v4Text(b)}/${prefix}:*`;
        });
        const verdict = granted(grants, v4Text(v));
        const inside = blocks.some(({ base, prefix }) => prefix === 0 || v >>> (32 - prefix) === base >>> (32 - prefix));
        assert.equal(verdict, inside, `${v4Text(v)} under ${grants.join(', ')}`);
        for (const s of sameSpellings(v)) assert.equal(granted(grants, s), verdict, `${s} under ${grants.join(', ')}`);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('property: IPv6 grants (whole IPv6, blocks around the mapped range, NAT64, 6to4) open no spelling of an IPv4 address', () => {
    const v6Grants = ['[::/0]:*', '[::/64]:*', '[::/96]:*', '[::fffe:0:0/95]:*', '[64:ff9b::/96]:*', '[2002::/16]:*', '*.example.com:*'];
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.subarray(v6Grants, { minLength: 1 }), (v, grants) => {
        assert.equal(granted(grants, v4Text(v)), false);
        for (const s of sameSpellings(v)) assert.equal(granted(grants, s), false, `${s} under ${grants.join(', ')}`);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('property: the internal filter gives every spelling and every NAT64 / 6to4 form of a random IPv4 address its verdict', () => {
    // Internal blocks drawn often: loopback, RFC 1918, link-local, shared, "this network".
    const internal = fc.constantFrom(0x7f000000, 0x0a000000, 0xac100000, 0xc0a80000, 0xa9fe0000, 0x64400000, 0x00000000);
    const address = fc.oneof(
      fc.nat({ max: 0xffffffff }),
      fc.tuple(internal, fc.nat({ max: 0xfffff })).map(([base, low]) => (base | low) >>> 0),
    );
    fc.assert(
      fc.property(address, fc.nat({ max: 0xffff }), (v, subnet) => {
        const verdict = isInternalAddress(v4Text(v));
        for (const s of [...sameSpellings(v), ...leadingForms(v, subnet)]) assert.equal(isInternalAddress(s), verdict, `${s} (${v4Text(v)})`);
      }),
      { seed, numRuns: 3000 },
    );
  });

  it('property: through the monitor, a granted name answering any form of an address is taken only when the address is not internal', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffff }), (v, subnet) => {
        const forms = [v4Text(v), ...sameSpellings(v), ...leadingForms(v, subnet)];
        const dk = monitored(['*.spell.test:443'], { 'a.spell.test': forms });
        lookup(dk, 'a.spell.test');
        const expected = !isInternalAddress(v4Text(v));
        for (const s of forms) assert.equal(connectAllowed(dk, s), expected, `${s} (${v4Text(v)})`);
      }),
      { seed, numRuns: 300 },
    );
  });
});
