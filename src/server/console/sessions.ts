// The web console's sessions: the daemon's token, entered once on the login page, buys a random
// session id that the browser keeps in an HttpOnly, SameSite=Strict cookie (cookie.ts). The
// table lives in the daemon's memory only (a restart logs everyone out), holds at most `max`
// sessions (a login past that drops the oldest), and a session ends when it has been idle for
// idleMs or has lived lifetimeMs, whichever comes first.
//
// Ids are 32 random bytes (base64url); the table is keyed by their SHA-256, so a lookup's timing
// says nothing about a stored id. Failed logins are counted in a sliding window: past
// loginFailures in loginWindowMs every attempt is refused (429) until the window has moved on,
// so the token cannot be guessed at the login page faster than the bearer API would allow.
//
// What a session has open (an event stream, a followed output, a frame view) is watched: when
// the session ends (logout, expiry, dropped for room) its watchers are told, and the daemon
// closes those answers. Expiry is found lazily and by sweep(), which the daemon calls every minute.

import { createHash, randomBytes } from 'node:crypto';

export interface SessionOptions {
  /** Most sessions at once (default 64). */
  max?: number;
  /** A session unused this long ends (default 12 hours). */
  idleMs?: number;
  /** A session ends this long after its login, used or not (default 7 days). */
  lifetimeMs?: number;
  /** Failed logins allowed in one window (default 10). */
  loginFailures?: number;
  /** The window of loginFailures (default 1 minute). */
  loginWindowMs?: number;
  /** The clock (tests move it). */
  now?: () => number;
}

interface Session {
  created: number;
  used: number;
}

const hashOf = (id: string): string => createHash('sha256').update(id).digest('hex');

export class SessionTable {
  readonly max: number;
  readonly idleMs: number;
  readonly lifetimeMs: number;
  private readonly loginFailures: number;
  private readonly loginWindowMs: number;
  private readonly now: () => number;
  /** By the SHA-256 of the id, oldest login first (a Map keeps insertion order). */
  private readonly sessions = new Map<string, Session>();
  /** When the failed logins of the current window happened (at most loginFailures kept). */
  private readonly failures: number[] = [];
  /** Who to tell when a session ends, by the SHA-256 of its id. */
  private readonly watchers = new Map<string, Set<() => void>>();

  constructor(options: SessionOptions = {}) {
    this.max = options.max ?? 64;
    this.idleMs = options.idleMs ?? 12 * 3600_000;
    this.lifetimeMs = options.lifetimeMs ?? 7 * 24 * 3600_000;
    this.loginFailures = options.loginFailures ?? 10;
    this.loginWindowMs = options.loginWindowMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Live sessions. */
  get size(): number {
    this.prune();
    return this.sessions.size;
  }

  /** A new session's id (the oldest session goes when the table is full). */
  create(): string {
    this.prune();
    while (this.sessions.size >= this.max) this.end(this.sessions.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const t = this.now();
    this.sessions.set(hashOf(id), { created: t, used: t });
    return id;
  }

  /** Whether `id` is a live session; a live one counts as used now. */
  check(id: string): boolean {
    const key = hashOf(id);
    const s = this.sessions.get(key);
    if (!s) return false;
    const t = this.now();
    if (this.expired(s, t)) {
      this.end(key);
      return false;
    }
    s.used = t;
    return true;
  }

  /** End session `id` (logout); nothing when it is not one. */
  remove(id: string): void {
    this.end(hashOf(id));
  }

  /** Call `f` once session `id` ends (at once if it is no session); returns the unwatch. */
  watch(id: string, f: () => void): () => void {
    const key = hashOf(id);
    if (!this.sessions.has(key)) {
      f();
      return () => {};
    }
    let set = this.watchers.get(key);
    if (!set) this.watchers.set(key, (set = new Set()));
    set.add(f);
    return () => {
      set.delete(f);
      if (set.size === 0 && this.watchers.get(key) === set) this.watchers.delete(key);
    };
  }

  /** End the sessions that have expired (their watchers are told). */
  sweep(): void {
    this.prune();
  }

  /** Whether a login may be tried now (false: too many failures in the window). */
  loginAllowed(): boolean {
    const t = this.now();
    while (this.failures.length > 0 && this.failures[0]! <= t - this.loginWindowMs) this.failures.shift();
    return this.failures.length < this.loginFailures;
  }

  /** Count a failed login. */
  loginFailed(): void {
    this.failures.push(this.now());
    if (this.failures.length > this.loginFailures) this.failures.shift();
  }

  private expired(s: Session, t: number): boolean {
    return t - s.used >= this.idleMs || t - s.created >= this.lifetimeMs;
  }

  private prune(): void {
    const t = this.now();
    for (const [key, s] of this.sessions) if (this.expired(s, t)) this.end(key);
  }

  private end(key: string): void {
    this.sessions.delete(key);
    const told = this.watchers.get(key);
    this.watchers.delete(key);
    for (const f of told ?? []) f();
  }
}
