// Hosts of `drawbridge serve` joined into one cluster through NATS with JetStream (docs/cluster.md).
//
// - Membership: each host puts its record (name, labels, load, when) into the KV bucket
//   `drawbridge-hosts` every HEARTBEAT_MS; the bucket's entries live HOST_TTL_MS, so a host that
//   stops heartbeating (killed, cut off) drops out of the list by itself.
// - Ids: a host claims a slot (`drawbridge-slots`, KV create: one winner) and gives its
//   picoprocesses ids from that slot's range, so an id names one picoprocess in the whole
//   cluster; the owner of each id is recorded in `drawbridge-procs`.
// - Requests between hosts: each host answers on the subject `drawbridge.host.NAME` by making
//   the request it carries to its own control API (http-api.ts), as a local client would, and
//   sending the answer back. So a spawn placed elsewhere, or a kill, a read of output or a
//   checkpoint of a picoprocess another host runs, is the same route run on its owner.
//
// Who may do what: whoever can publish on the cluster's subjects can run programs on every
// host, as each daemon's token lets a local client do. The NATS account (user and password or
// nkeys, TLS) is the access control of a cluster; docs/cluster.md says how to set it.

import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { randomBytes } from 'node:crypto';
import { KeyError, readKey, seal, unseal, type HostKey } from '../../checkpoint/seal.ts';
import { SnapshotError } from '../../checkpoint/snapshot.ts';

/** How often a host renews its record, and how long a record lives without renewal. */
export const HEARTBEAT_MS = 1000;
export const HOST_TTL_MS = 3000;
/** Ids per host slot: slot k gives ids k * SLOT_IDS + 1 onwards (slot 0 is a host outside a cluster). */
export const SLOT_IDS = 1_000_000_000;
/** Most slots tried when joining. */
const MAX_SLOTS = 1000;
/** How long a reading of the live hosts serves (a quarter of a heartbeat). */
const HOSTS_FRESH_MS = 250;
/** The longest a request to another host waits for its answer. */
export const REQUEST_MS = 10_000;
/** Most bytes a body carried between hosts may have (a snapshot: the control API's own bound). */
const TRANSFER_LIMIT = 1024 ** 3;
/** How long a body left in the transfer store lives (one whose reader died is dropped then). */
const TRANSFER_TTL_NS = 10 * 60 * 1e9;

export interface HostRecord {
  name: string;
  labels: Record<string, string>;
  /** Picoprocesses it holds (running or ended and not removed). */
  processes: number;
  slot: number;
  /** ms since the epoch, by its own clock. */
  at: number;
}

/** A request carried to a host's own control API. */
export interface ForwardedRequest {
  method: string;
  /** Path and query, e.g. /v1/processes/7/kill. */
  path: string;
  /** Body, base64 (empty: none). */
  body?: string;
  /** A body too big for one message: its name in the transfer store (read once, then deleted). */
  object?: string;
}

export interface ForwardedAnswer {
  status: number;
  headers: Record<string, string>;
  /** Body, base64. */
  body: string;
  object?: string;
}

export interface ClusterOptions {
  /** nats://HOST:PORT (several: comma-separated). */
  url: string;
  name: string;
  labels?: Record<string, string>;
  /** NATS credentials. */
  user?: string;
  pass?: string;
  /**
   * A host key file every host of the cluster has (seal.ts): the checkpoints hosts hand each
   * other (a move, a durable picoprocess's stored state) are sealed with it, and one not sealed
   * with it is refused. Without it they travel unsealed.
   */
  keyFile?: string;
}

export class ClusterError extends Error {}

/** A KV entry that holds a value (not a delete or purge marker, nor an empty put). */
export function present(e: KvEntry | null): e is KvEntry {
  return e !== null && e.operation === 'PUT' && e.length > 0;
}

/**
 * Every key of `kv` with a value, and the value's entry (keys listed first, then read one by one).
 * The listing goes on until nothing is pending, so a key put while it runs (a host's heartbeat) is
 * listed again: each key is read once.
 */
export async function presentEntries(kv: Pick<KV, 'keys' | 'get'>): Promise<KvEntry[]> {
  const keys = new Set<string>();
  for await (const k of await kv.keys()) keys.add(k);
  const out: KvEntry[] = [];
  for (const k of keys) {
    const e = await kv.get(k);
    if (present(e)) out.push(e);
  }
  return out;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** `k=v,k2=v2` as labels, or a message saying what is wrong. */
export function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const m = /^([A-Za-z0-9_.-]{1,64})=([A-Za-z0-9_.:-]{0,128})$/.exec(part);
    if (!m) return `${part}: expected KEY=VALUE (letters, digits, _ . - :)`;
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** A host's place in a cluster: its record, its slot, the owners of ids, and requests to other hosts. */
export class ClusterMember {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly slot: number;
  private readonly nc: NatsConnection;
  private readonly hosts: KV;
  private readonly slots: KV;
  private readonly owners: KV;
  private readonly transfer: ObjectStore;
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;
  private load: () => number = () => 0;

  private constructor(
    nc: NatsConnection,
    stores: { hosts: KV; slots: KV; owners: KV; transfer: ObjectStore },
    name: string,
    labels: Record<string, string>,
    slot: number,
    firstId: number,
    key: HostKey | null,
  ) {
    this.firstId = firstId;
    this.key = key;
    this.nc = nc;
    const { hosts, slots, owners } = stores;
    this.transfer = stores.transfer;
    this.hosts = hosts;
    this.slots = slots;
    this.owners = owners;
    this.name = name;
    this.labels = labels;
    this.slot = slot;
  }

  /** Connect, refuse a name another live host has, and claim a slot of ids. */
  static async join(options: ClusterOptions): Promise<ClusterMember> {
    if (!NAME.test(options.name)) throw new ClusterError(`--name ${options.name}: letters, digits, _ and - only (at most 64)`);
    let key: HostKey | null = null;
    try {
      key = options.keyFile ? readKey(options.keyFile) : null;
    } catch (e) {
      if (e instanceof KeyError) throw new ClusterError(`--cluster-key: ${e.message}`);
      throw e;
    }
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: options.url.split(','), user: options.user, pass: options.pass, name: `drawbridge ${options.name}`, timeout: 5000 });
    } catch (e) {
      const message = (e as Error).message;
      const hint = /authori[sz]ation/i.test(message)
        ? "give the cluster's NATS user and password in DRAWBRIDGE_NATS_USER and DRAWBRIDGE_NATS_PASSWORD"
        : 'is nats-server running there (with JetStream: -js)?';
      throw new ClusterError(`cannot reach the cluster at ${options.url}: ${message}: ${hint}`);
    }
    try {
      const kvm = new Kvm(nc);
      const hosts = await kvm.create('drawbridge-hosts', { ttl: HOST_TTL_MS, history: 1 });
      const slots = await kvm.create('drawbridge-slots', { ttl: HOST_TTL_MS, history: 1 });
      const owners = await kvm.create('drawbridge-procs', { history: 1 });
      const transfer = await new Objm(nc).create('drawbridge-transfer', { ttl: TRANSFER_TTL_NS });
      if (present(await hosts.get(options.name))) {
        throw new ClusterError(`another live host is named ${options.name} in this cluster: give --name another name`);
      }
      let slot = 0;
      for (let k = 1; k <= MAX_SLOTS && slot === 0; k++) {
        try {
          await slots.create(String(k), options.name);
          slot = k;
        } catch {
          // taken by a live host
        }
      }
      if (slot === 0) throw new ClusterError(`no free host slot among ${MAX_SLOTS}`);
      // A slot whose host died may be taken again while picoprocesses of its range live on
      // elsewhere (failover.ts): this host's ids start after every id of the range still owned.
      let first = slot * SLOT_IDS + 1;
      for await (const k of await owners.keys()) {
        const id = Number(k);
        if (Number.isSafeInteger(id) && id >= first && id < (slot + 1) * SLOT_IDS) first = id + 1;
      }
      return new ClusterMember(nc, { hosts, slots, owners, transfer }, options.name, options.labels ?? {}, slot, first, key);
    } catch (e) {
      await nc.close();
      throw e instanceof ClusterError
        ? e
        : new ClusterError(`cannot join the cluster at ${options.url}: ${(e as Error).message} (its nats-server needs JetStream: -js)`);
    }
  }

  /** The cluster's key (ClusterOptions.keyFile), or null. */
  private readonly key: HostKey | null;

  /** A checkpoint to hand another host: sealed with the cluster's key when there is one. */
  sealForPeers(checkpoint: Uint8Array): Uint8Array {
    return this.key ? seal(checkpoint, this.key) : checkpoint;
  }

  /** A checkpoint another host handed over: with a cluster key, only one sealed with it (a SnapshotError says why not). */
  openFromPeer(bytes: Uint8Array, what: string): Uint8Array {
    const opened = unseal(bytes, this.key ? [this.key] : [], what);
    if (opened.kind === 'sealed' && this.key) return opened.snapshot;
    if (opened.kind === 'unsealed' && !this.key) return opened.snapshot;
    throw new SnapshotError(
      this.key ? `${what} is not sealed with the cluster's key (--cluster-key)` : `${what} is sealed, and this host has no cluster key (--cluster-key)`,
    );
  }

  /** The connection to NATS (failover.ts keeps its own buckets on it). */
  get nats(): NatsConnection {
    return this.nc;
  }

  /** The first id this host gives: in its slot's range, after those of the range still owned. */
  readonly firstId: number;

  /**
   * Start heartbeating (`load`: how many picoprocesses it holds) and answering requests from
   * other hosts with `local` (a request made to this host's own API).
   */
  async start(load: () => number, local: (r: ForwardedRequest) => Promise<ForwardedAnswer>): Promise<void> {
    this.load = load;
    await this.beat();
    this.timer = setInterval(() => void this.beat().catch(() => {}), HEARTBEAT_MS);
    this.timer.unref();
    this.sub = this.nc.subscribe(subjectOf(this.name), {
      callback: (err, msg) => {
        if (err) return;
        // Whatever a peer sends or asks for, the answer is one message (a big body goes
        // through the transfer store) and nothing it does ends this host.
        const answer = (a: ForwardedAnswer): void => {
          void this.outgoing(a)
            .then((text) => msg.respond(text))
            .catch((e: Error) => {
              try {
                msg.respond(JSON.stringify(errorAnswer(502, `${this.name}: ${e.message}`)));
              } catch {
                // the requester waits until its timeout
              }
            });
        };
        let req: ForwardedRequest;
        try {
          req = msg.json<ForwardedRequest>();
          if (typeof req.method !== 'string' || typeof req.path !== 'string' || !req.path.startsWith('/v1/')) throw new Error('not a request');
        } catch {
          answer(errorAnswer(400, 'not a drawbridge request'));
          return;
        }
        this.incoming(req)
          .then((r) => local(r))
          .then(answer, (e: Error) => answer(errorAnswer(502, `${this.name}: ${e.message}`)));
      },
    });
  }

  private async beat(): Promise<void> {
    const record: HostRecord = { name: this.name, labels: this.labels, processes: this.load(), slot: this.slot, at: Date.now() };
    try {
      await this.hosts.put(this.name, JSON.stringify(record));
      await this.slots.put(String(this.slot), this.name);
    } catch (e) {
      this.lastMissedBeat = Date.now();
      throw e;
    }
  }

  /** When a heartbeat last failed (NATS unreachable): every record may have lapsed meanwhile. */
  private lastMissedBeat = Date.now();

  /**
   * Whether this host has heartbeaten without a miss long enough for every live host's record
   * to be there again: before that, a host missing from the list may only be one whose record
   * lapsed while NATS was away (failover.ts waits for this).
   */
  get steady(): boolean {
    return Date.now() - this.lastMissedBeat > HOST_TTL_MS + 2 * HEARTBEAT_MS;
  }

  /** The live hosts, by name: read at most every HOSTS_FRESH_MS (a spawn places by them). */
  liveHosts(): Promise<HostRecord[]> {
    const now = Date.now();
    if (this.hostsRead && now - this.hostsRead.at < HOSTS_FRESH_MS) return this.hostsRead.hosts;
    const hosts = this.readHosts();
    this.hostsRead = { at: now, hosts };
    hosts.catch(() => (this.hostsRead = null));
    return hosts;
  }

  private hostsRead: { at: number; hosts: Promise<HostRecord[]> } | null = null;

  private async readHosts(): Promise<HostRecord[]> {
    const out: HostRecord[] = [];
    for (const e of await presentEntries(this.hosts)) {
      try {
        out.push(e.json<HostRecord>());
      } catch {
        // not a host record
      }
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Where a new picoprocess goes: among the live hosts whose labels hold every one asked for,
   * the one holding fewest picoprocesses (ties: by name). Null when none matches.
   */
  async place(labels: Record<string, string> = {}): Promise<HostRecord | null> {
    const fits = (await this.liveHosts()).filter((h) => Object.entries(labels).every(([k, v]) => h.labels[k] === v));
    // A record is up to a heartbeat old: what this host placed that the record cannot count yet
    // (still starting, or started after the record was written) counts too, so that spawns in
    // quick succession spread instead of all going to the host that looked least loaded.
    const load = (h: HostRecord) => h.processes + (this.placements.get(h.name) ?? []).filter((t) => t >= h.at).length;
    fits.sort((a, b) => load(a) - load(b) || a.name.localeCompare(b.name));
    const chosen = fits[0] ?? null;
    if (chosen) {
      const pending = (this.placements.get(chosen.name) ?? []).filter((t) => t >= chosen.at);
      pending.push(Infinity);
      this.placements.set(chosen.name, pending);
    }
    return chosen;
  }

  /** The placement on `name` that place() chose is answered (started or refused): counted from now until a newer record. */
  placed(name: string): void {
    const pending = this.placements.get(name);
    const k = pending?.indexOf(Infinity) ?? -1;
    if (k >= 0) pending![k] = Date.now();
  }

  /** Placements this host made, by host: when each was answered (Infinity: not yet). */
  private readonly placements = new Map<string, number[]>();

  /** Record that this host runs these ids. */
  async own(ids: readonly number[]): Promise<void> {
    for (const id of ids) await this.owners.put(String(id), this.name);
  }

  /** Forget the owner of an id (removed). */
  async disown(id: number): Promise<void> {
    await this.owners.delete(String(id)).catch(() => {});
  }

  /** The host that runs `id`, or null. */
  async ownerOf(id: number): Promise<string | null> {
    const e = await this.owners.get(String(id));
    return present(e) ? e.string() : null;
  }

  /** Make `req` on host `name`'s own API. */
  async forward(name: string, req: ForwardedRequest): Promise<ForwardedAnswer> {
    let text: string;
    try {
      text = await this.outgoing(req);
    } catch (e) {
      return errorAnswer(502, `cannot send the request to ${name}: ${(e as Error).message}`);
    }
    let answer: ForwardedAnswer;
    try {
      const m = await this.nc.request(subjectOf(name), text, { timeout: REQUEST_MS });
      answer = m.json<ForwardedAnswer>();
    } catch (e) {
      return errorAnswer(504, `host ${name} did not answer (${(e as Error).message})`);
    }
    try {
      return await this.incoming(answer);
    } catch (e) {
      return errorAnswer(502, `the answer of ${name} could not be read: ${(e as Error).message}`);
    }
  }

  /** A request or answer as one message: a body too big for it goes into the transfer store. */
  private async outgoing(m: ForwardedRequest | ForwardedAnswer): Promise<string> {
    const text = JSON.stringify(m);
    const most = (this.nc.info?.max_payload ?? 1024 * 1024) - 4096;
    if (Buffer.byteLength(text) <= most) return text;
    const bytes = Buffer.from(m.body ?? '', 'base64');
    if (bytes.length > TRANSFER_LIMIT) throw new Error(`a body of ${bytes.length} bytes is over ${TRANSFER_LIMIT}`);
    const object = randomBytes(16).toString('hex');
    await this.transfer.putBlob({ name: object }, bytes);
    return JSON.stringify({ ...m, body: '', object });
  }

  /** A message with its body back from the transfer store (bounded; read once, then deleted). */
  private async incoming<T extends ForwardedRequest | ForwardedAnswer>(m: T): Promise<T> {
    if (m.object === undefined) return m;
    if (typeof m.object !== 'string' || !/^[0-9a-f]{32}$/.test(m.object)) throw new Error('a transfer name that is not one');
    const info = await this.transfer.info(m.object);
    if (!info || info.size > TRANSFER_LIMIT) throw new Error(info ? `a body over ${TRANSFER_LIMIT} bytes` : 'its body is not in the transfer store');
    const bytes = await this.transfer.getBlob(m.object);
    await this.transfer.delete(m.object).catch(() => {});
    if (!bytes) throw new Error('its body is not in the transfer store');
    return { ...m, body: Buffer.from(bytes).toString('base64'), object: undefined };
  }

  /** Leave: stop heartbeating and answering, drop this host's record and slot. */
  async leave(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.sub?.unsubscribe();
    await this.hosts.delete(this.name).catch(() => {});
    await this.slots.delete(String(this.slot)).catch(() => {});
    await this.nc.drain().catch(() => {});
  }
}

function subjectOf(name: string): string {
  return `drawbridge.host.${name}`;
}

export function errorAnswer(status: number, message: string): ForwardedAnswer {
  return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ error: message }) + '\n').toString('base64') };
}
