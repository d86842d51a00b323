// Raw HTTP for the web console's tests: requests with exactly the headers a browser (or an
// attacker's page) would send, answers with their status, headers and body as they came.
import { request } from 'node:http';
import type { Connection } from '../../src/server/daemon.ts';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  bytes: Buffer;
}

export interface Sent {
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** One request to the daemon at `c.url`, no token unless `headers` carries one. */
export function http(c: Connection, method: string, path: string, sent: Sent = {}): Promise<Answer> {
  const u = new URL(c.url!);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: Number(u.port), method, path, headers: sent.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, text: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(sent.body);
  });
}

/** The origin a page of this daemon has (what a browser sends as Origin). */
export function originOf(c: Connection): string {
  return new URL(c.url!).origin;
}

/** The session id of a Set-Cookie answer, or null. */
export function sessionCookie(a: Answer): string | null {
  const set = a.headers['set-cookie'];
  const line = (Array.isArray(set) ? set : set ? [set] : []).find((l) => l.startsWith('drawbridge_session='));
  if (!line) return null;
  return line.slice('drawbridge_session='.length).split(';')[0]!;
}

/** Log in as the console's page does: POST /v1/session from the daemon's own origin. */
export async function logIn(c: Connection, token: string): Promise<{ answer: Answer; cookie: string | null }> {
  const answer = await http(c, 'POST', '/v1/session', {
    headers: { origin: originOf(c), 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  return { answer, cookie: sessionCookie(answer) };
}

/** Headers of a same-origin request from the console's page with session `id`. */
export function fromPage(c: Connection, id: string, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: `drawbridge_session=${id}`, origin: originOf(c), 'sec-fetch-site': 'same-origin', ...extra };
}
