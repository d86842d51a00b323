// Durable picoprocesses of a cluster (docs/cluster.md, "Durable picoprocesses"): their owner
// keeps their restorable state in JetStream, and when it stops heartbeating another host
// continues them.
//
// - Every DURABLE_EVERY_MS the owner checkpoints each of its durable picoprocesses (leaving it
//   running) and stores the snapshot with what its output rings hold in the object store
//   `drawbridge-durable` (one object per picoprocess, replaced each time), and the offsets of
//   that output in the KV bucket of the same name.
// - Every host looks, each heartbeat, for durable picoprocesses whose owner is no longer live.
//   One claims each (a KV create: one winner), restores it from its latest snapshot with the
//   same id and its output rings at the stored offsets, and becomes its owner.
// - Output is numbered by its byte offset (the rings' offsets, what `logs --from` reads): the
//   program goes on from the snapshot, so what it printed between the snapshot and the crash
//   it prints again at the same offsets, and a client that reads on from the offset it had
//   sees each byte once. Its other effects in that time happen again (docs/cluster.md says so).

import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Pool } from '../pool/pool.ts';
import { present, presentEntries, type ClusterMember } from './cluster.ts';

/** How often a durable picoprocess's state is stored. */
export const DURABLE_EVERY_MS = 1000;
/** Most bytes one stored state may have (its snapshot and output). */
const STATE_LIMIT = 1024 ** 3;

/** What the KV bucket says of a durable picoprocess. */
interface DurableRecord {
  owner: string;
  /** Output offsets of the rings stored with the snapshot, and their lengths. */
  stdout: { from: number; length: number };
  stderr: { from: number; length: number };
  at: number;
}

export class Failover {
  private readonly member: ClusterMember;
  private readonly pool: Pool;
  private readonly records: KV;
  private readonly states: ObjectStore;
  private readonly claims: KV;
  /** The durable picoprocesses this host runs. */
  private readonly mine = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  private constructor(member: ClusterMember, pool: Pool, records: KV, states: ObjectStore, claims: KV) {
    this.member = member;
    this.pool = pool;
    this.records = records;
    this.states = states;
    this.claims = claims;
  }

  static async open(nc: NatsConnection, member: ClusterMember, pool: Pool): Promise<Failover> {
    const kvm = new Kvm(nc);
    const records = await kvm.create('drawbridge-durable', { history: 1 });
    const claims = await kvm.create('drawbridge-claims', { history: 1, ttl: 60_000 });
    const states = await new Objm(nc).create('drawbridge-durable');
    return new Failover(member, pool, records, states, claims);
  }

  /** Keep `id` (running here) durable: its state stored from now on. */
  async track(id: number): Promise<void> {
    this.mine.add(id);
    await this.store(id);
  }

  /** It ended, was removed, or moved away: no longer kept (a move keeps it on the new host). */
  async untrack(id: number, keepRecord = false): Promise<void> {
    this.mine.delete(id);
    if (keepRecord) return;
    await this.records.delete(String(id)).catch(() => {});
    await this.states.delete(String(id)).catch(() => {});
  }

  isDurable(id: number): boolean {
    return this.mine.has(id);
  }

  start(): void {
    this.timer = setInterval(() => void this.round(), DURABLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Store what this host's durable picoprocesses are; continue those whose owner died. */
  private async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const id of [...this.mine]) await this.store(id).catch(() => {});
      await this.takeOver().catch(() => {});
    } finally {
      this.busy = false;
    }
  }

  private async store(id: number): Promise<void> {
    const info = this.pool.has(id) ? this.pool.get(id) : null;
    if (!info || info.state !== 'running') {
      // Ended here: nothing to continue.
      if (!info || info.state === 'exited') await this.untrack(id);
      return;
    }
    // Another host continues it (this one was taken for dead): this copy stops, so that one runs.
    const kept = await this.records.get(String(id));
    if (present(kept) && kept.json<DurableRecord>().owner !== this.member.name) {
      this.mine.delete(id);
      await this.pool.kill(id).catch(() => {});
      return;
    }
    const snapshot = await this.pool.checkpoint(id, true);
    const out = this.pool.output(id, 'stdout').read(0);
    const err = this.pool.output(id, 'stderr').read(0);
    const state = Buffer.concat([out.bytes, err.bytes, this.member.sealForPeers(snapshot)]);
    if (state.length > STATE_LIMIT) return;
    await this.states.putBlob({ name: String(id) }, state);
    const record: DurableRecord = {
      owner: this.member.name,
      stdout: { from: out.from, length: out.bytes.length },
      stderr: { from: err.from, length: err.bytes.length },
      at: Date.now(),
    };
    // Only over the record read above: a host that took this one for dead and continued the
    // picoprocess meanwhile (its record came between, while this one checkpointed) keeps its
    // record, where a put would take the picoprocess back and that host would stop its copy.
    // The update then fails, and the next round here stops this copy.
    if (present(kept)) await this.records.update(String(id), JSON.stringify(record), kept.revision);
    else await this.records.put(String(id), JSON.stringify(record));
  }

  /** Owners seen missing, with how many rounds in a row. */
  private readonly missing = new Map<string, number>();

  /**
   * Durable picoprocesses whose owner is not live: claimed (one host each) and continued here.
   * Only while this host is steady (no heartbeat missed lately: after NATS comes back, every
   * record may have lapsed) and for an owner missing two rounds in a row.
   */
  private async takeOver(): Promise<void> {
    const live = new Set((await this.member.liveHosts()).map((h) => h.name));
    if (!live.has(this.member.name) || !this.member.steady) {
      this.missing.clear();
      return;
    }
    const seen = new Set<string>();
    for (const e of await presentEntries(this.records)) {
      const key = e.key;
      const record = e.json<DurableRecord>();
      if (live.has(record.owner)) continue;
      if (!seen.has(record.owner)) {
        seen.add(record.owner);
        this.missing.set(record.owner, (this.missing.get(record.owner) ?? 0) + 1);
      }
      if (this.missing.get(record.owner)! < 2) continue;
      const id = Number(key);
      if (!Number.isSafeInteger(id) || id <= 0) continue;
      try {
        // One winner per owner's death and picoprocess: the claim names both.
        await this.claims.create(`${key}.${record.at}`, this.member.name);
      } catch {
        continue;
      }
      const state = await this.states.getBlob(key);
      if (!state || state.length < record.stdout.length + record.stderr.length) continue;
      const outEnd = record.stdout.length;
      const errEnd = outEnd + record.stderr.length;
      await this.pool.restore(this.member.openFromPeer(state.subarray(errEnd), `picoprocess ${id}'s stored state`), undefined, {
        id,
        stdout: { from: record.stdout.from, bytes: state.subarray(0, outEnd) },
        stderr: { from: record.stderr.from, bytes: state.subarray(outEnd, errEnd) },
      });
      await this.member.own([id]);
      // The record names this host before anything else stores it.
      await this.records.put(key, JSON.stringify({ ...record, owner: this.member.name, at: Date.now() }));
      this.mine.add(id);
      await this.store(id).catch(() => {});
    }
    for (const owner of [...this.missing.keys()]) if (!seen.has(owner)) this.missing.delete(owner);
  }
}
