// presentEntries (src/server/cluster/cluster.ts) over a KV whose key listing repeats a key, as
// NATS's does when the key is put again while the listing runs (a host heartbeating): each key's
// entry comes once, so a host is never listed twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KvEntry } from '@nats-io/kv';
import { presentEntries } from '../../src/server/cluster/cluster.ts';

function entry(key: string, value: string, operation: 'PUT' | 'DEL' = 'PUT'): KvEntry {
  const bytes = new TextEncoder().encode(value);
  return { key, value: bytes, length: bytes.length, operation, json: () => JSON.parse(value), string: () => value } as unknown as KvEntry;
}

test('a key listed twice (put again during the listing) is one entry; deleted and empty keys none', async () => {
  const store = new Map([
    ['c1', entry('c1', '{"name":"c1"}')],
    ['c2', entry('c2', '{"name":"c2"}')],
    ['c3', entry('c3', '{"name":"c3"}')],
    ['gone', entry('gone', '', 'DEL')],
    ['empty', entry('empty', '')],
  ]);
  const kv = {
    keys: async () =>
      (async function* () {
        yield* ['c1', 'c2', 'c3', 'gone', 'empty', 'c3', 'c1'];
      })(),
    get: async (k: string) => store.get(k) ?? null,
  };
  const got = await presentEntries(kv as unknown as Parameters<typeof presentEntries>[0]);
  assert.deepEqual(
    got.map((e) => e.key),
    ['c1', 'c2', 'c3'],
  );
});
