// GET /v1/events: the console's live view as server-sent events (text/event-stream).
//
//   event: processes   {"processes":[info...],"total":N}   at the start, then whenever the
//                      table changes (an entry added, started, ended, forgotten, moved)
//   event: stats       {"at":ms,"host":HostStats,"processes":[{id,cpuMs,memoryBytes,stdoutBytes,stderrBytes}...]}
//                      every statsMs, for the live picoprocesses listed
//   event: hosts       {"hosts":[...]}   with the stats, in a cluster (GET /v1/hosts)
//   : heartbeat        a comment every heartbeatMs, so that proxies and the browser see a live stream
//
// Bounded: at most maxSubscribers streams at once (one more is answered 503); a list carries
// at most maxListed picoprocesses (live ones first, newest first; `total` says how many there
// are); a subscriber that does not read, and falls BACKLOG_LIMIT behind, is cut off (the
// browser's EventSource connects again). The figures are gathered once per tick for all
// subscribers, and nothing runs while nobody listens.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool } from '../pool/pool.ts';
import type { ProcessInfo } from '../supervisor.ts';
import type { ClusterMember } from '../cluster/cluster.ts';
import { HostSampler } from './host-stats.ts';
import { sendJson } from './json.ts';

export interface EventsOptions {
  /** How often stats are sent (default 1 s). */
  statsMs?: number;
  /** How often a heartbeat comment is sent (default 15 s). */
  heartbeatMs?: number;
  /** Most event streams at once (default 16). */
  maxSubscribers?: number;
  /** Most picoprocesses in one list (default 500). */
  maxListed?: number;
}

/** Bytes a subscriber may have unread before it is cut off. */
const BACKLOG_LIMIT = 4 * 1024 * 1024;
/** A burst of changes (a batch of starts) is told as one list, this long after the first. */
const CHANGE_DELAY_MS = 50;

const live = (p: ProcessInfo): boolean => p.state === 'running' || p.state === 'starting';

/** The figures that change all the time, left out when deciding whether the list changed. */
const VOLATILE = new Set(['cpuMs', 'memoryBytes', 'stdoutBytes', 'stderrBytes']);

export class EventHub {
  private readonly subscribers = new Set<ServerResponse>();
  private readonly statsMs: number;
  private readonly heartbeatMs: number;
  readonly maxSubscribers: number;
  private readonly maxListed: number;
  private readonly sampler = new HostSampler();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private changeTimer: ReturnType<typeof setTimeout> | null = null;
  /** The last list sent (without its volatile figures); '' sends the next one whatever it is. */
  private listed = '';
  /** One gathering at a time: a tick or a change waits for the one before. */
  private chain: Promise<void> = Promise.resolve();
  private unwatch: (() => void) | null = null;

  private readonly pool: Pool;
  private readonly cluster: () => ClusterMember | null;

  constructor(pool: Pool, cluster: () => ClusterMember | null, options: EventsOptions = {}) {
    this.pool = pool;
    this.cluster = cluster;
    this.statsMs = options.statsMs ?? 1000;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxSubscribers = options.maxSubscribers ?? 16;
    this.maxListed = options.maxListed ?? 500;
  }

  get size(): number {
    return this.subscribers.size;
  }

  subscribe(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    if (this.subscribers.size >= this.maxSubscribers) {
      sendJson(res, 503, { error: `too many event streams open (${this.maxSubscribers}): close a console tab and reload` });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    res.write('retry: 2000\n\n');
    this.subscribers.add(res);
    res.on('close', () => {
      this.subscribers.delete(res);
      if (this.subscribers.size === 0) this.stop();
    });
    this.start();
    // The newcomer needs the whole list: everyone gets it again (a few streams at most).
    this.listed = '';
    this.gather(true);
  }

  /** End every stream and stop. */
  close(): void {
    for (const s of this.subscribers) s.destroy();
    this.subscribers.clear();
    this.stop();
  }

  private start(): void {
    if (this.statsTimer) return;
    this.unwatch = this.pool.watch(() => this.changed());
    this.statsTimer = setInterval(() => this.gather(true), this.statsMs);
    this.heartbeatTimer = setInterval(() => this.broadcast(': heartbeat\n\n'), this.heartbeatMs);
    this.statsTimer.unref();
    this.heartbeatTimer.unref();
  }

  private stop(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.statsTimer = this.heartbeatTimer = this.changeTimer = null;
    this.unwatch?.();
    this.unwatch = null;
  }

  private changed(): void {
    if (this.changeTimer || this.subscribers.size === 0) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      this.gather(false);
    }, CHANGE_DELAY_MS);
    this.changeTimer.unref();
  }

  private gather(withStats: boolean): void {
    this.chain = this.chain
      .then(() => (this.subscribers.size > 0 ? this.send(withStats) : undefined))
      .catch(() => {
        // A list or a cluster that failed this once: the next tick tries again.
      });
  }

  private async send(withStats: boolean): Promise<void> {
    const all = await this.pool.list();
    const shown = all.sort((a, b) => Number(live(b)) - Number(live(a)) || b.id - a.id).slice(0, this.maxListed);
    const cluster = this.cluster();
    const named = cluster ? shown.map((p) => ({ ...p, host: cluster.name })) : shown;
    const digest = JSON.stringify(named, (k, v: unknown) => (VOLATILE.has(k) ? undefined : v));
    if (digest !== this.listed) {
      this.listed = digest;
      this.event('processes', { processes: named, total: all.length });
    }
    if (!withStats) return;
    const running = shown.filter(live);
    this.event('stats', {
      at: Date.now(),
      host: { ...this.sampler.sample(), processes: all.length, live: running.length, guestMemoryBytes: running.reduce((n, p) => n + p.memoryBytes, 0) },
      processes: running.map((p) => ({ id: p.id, cpuMs: p.cpuMs, memoryBytes: p.memoryBytes, stdoutBytes: p.stdoutBytes, stderrBytes: p.stderrBytes })),
    });
    if (cluster) this.event('hosts', { name: cluster.name, hosts: await cluster.liveHosts() });
  }

  private event(name: string, data: unknown): void {
    this.broadcast(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcast(text: string): void {
    for (const s of this.subscribers) {
      if (s.writableLength > BACKLOG_LIMIT) s.destroy();
      else s.write(text);
    }
  }
}
