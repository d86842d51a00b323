// Who may use the API, and the console's login and logout. A request is let in by either
//   - `Authorization: Bearer TOKEN` (the CLI, scripts, other hosts of a cluster), judged alone
//     when present: a wrong token is refused even beside a good cookie; or
//   - the session cookie (cookie.ts) of a live session (sessions.ts), from the console's own
//     pages only (same-origin.ts).
// POST /v1/session { "token": "..." } logs in (204 and the cookie), refused from another
// origin, rate limited, and saying nothing but "wrong token" when it fails; DELETE /v1/session
// logs out (the session ends, the cookie is cleared).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { clearedCookieLine, sessionCookieLine, sessionIdOf } from './cookie.ts';
import { readSmallBody, sendJson } from './json.ts';
import { crossOriginRefusal } from './same-origin.ts';
import type { SessionTable } from './sessions.ts';

/** A login body is a token in JSON: far below this. */
const LOGIN_BODY_LIMIT = 4096;

export type Verdict = { ok: true; by: 'token' } | { ok: true; by: 'session'; session: string } | { ok: false; status: number; error: string };

/** How often expired sessions are looked for (their open answers then close). */
const SWEEP_MS = 60_000;

export class Access {
  private readonly tokenMatches: (presented: string) => boolean;
  readonly sessions: SessionTable;

  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(tokenMatches: (presented: string) => boolean, sessions: SessionTable) {
    this.tokenMatches = tokenMatches;
    this.sessions = sessions;
    this.sweeper = setInterval(() => sessions.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** The answer to a request let in by session `id` is closed when the session ends (a stream must not outlive its logout). */
  holdWhileLive(id: string, res: ServerResponse): void {
    const unwatch = this.sessions.watch(id, () => res.destroy());
    res.once('close', unwatch);
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /** Whether the request may use the /v1 routes, and by which credential. */
  judge(req: IncomingMessage): Verdict {
    const header = req.headers.authorization;
    // "Bearer" with no token is what a console page sends that holds the cookie, not the token
    // (src/web/fb-canvas.ts always sends the header): it is judged by the cookie.
    if (header !== undefined && header.trim() !== 'Bearer') {
      const m = /^Bearer (.+)$/.exec(header);
      return m !== null && this.tokenMatches(m[1]!) ? { ok: true, by: 'token' } : { ok: false, status: 401, error: 'missing or wrong bearer token' };
    }
    const id = sessionIdOf(req);
    if (id === null) return { ok: false, status: 401, error: 'missing or wrong bearer token (or log in to the console at /)' };
    if (!this.sessions.check(id)) return { ok: false, status: 401, error: 'no such session (it ended or was never made): log in again at /' };
    const refusal = crossOriginRefusal(req);
    if (refusal) return { ok: false, status: 403, error: refusal };
    return { ok: true, by: 'session', session: id };
  }

  /** Answer /v1/session (login, logout); false for any other path. */
  handle(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (pathname !== '/v1/session') return false;
    const fail = (status: number, error: string): void => {
      req.resume();
      sendJson(res, status, { error });
    };
    const refusal = crossOriginRefusal(req);
    if (refusal) {
      fail(403, refusal);
      return true;
    }
    if (req.method === 'DELETE') {
      const id = sessionIdOf(req);
      if (id !== null) this.sessions.remove(id);
      req.resume();
      res.writeHead(204, { 'set-cookie': clearedCookieLine(req) }).end();
      return true;
    }
    if (req.method !== 'POST') {
      fail(405, `${req.method} is not allowed here (POST logs in, DELETE logs out)`);
      return true;
    }
    if (!this.sessions.loginAllowed()) {
      fail(429, 'too many login attempts: wait a minute and try again');
      return true;
    }
    void readSmallBody(req, LOGIN_BODY_LIMIT).then(
      (body) => {
        if (body === null) {
          res.setHeader('connection', 'close');
          return sendJson(res, 413, { error: `a login body is at most ${LOGIN_BODY_LIMIT} bytes` });
        }
        let token: unknown;
        try {
          token = (JSON.parse(body.toString('utf8')) as { token?: unknown }).token;
        } catch {
          token = undefined;
        }
        // Whatever was wrong (no token, not JSON, the wrong one), the answer is the same.
        if (typeof token !== 'string' || !this.tokenMatches(token)) {
          this.sessions.loginFailed();
          return sendJson(res, 401, { error: 'wrong token' });
        }
        const id = this.sessions.create();
        res.writeHead(204, { 'set-cookie': sessionCookieLine(req, id, this.sessions.lifetimeMs), 'cache-control': 'no-store' }).end();
      },
      () => res.destroy(),
    );
    return true;
  }
}
