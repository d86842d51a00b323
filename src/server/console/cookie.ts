// The console's session cookie: its name, how it is read from a request, and the Set-Cookie
// lines that give and clear it. HttpOnly (no script reads it), SameSite=Strict (no other site's
// page sends it), Path=/ (the page and the API share it), and Secure when the request came over
// a TLS socket of the daemon's own, so that such a cookie never travels in the clear (serve
// listens on plain loopback HTTP today: the flag is ready for when it speaks TLS).

import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'drawbridge_session';

/** The session id the request's Cookie header carries, or null (an empty one counts as given: it is refused, not ignored). */
export function sessionIdOf(req: IncomingMessage): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}

function overTls(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** The Set-Cookie line of a new session that lives `maxAgeMs`. */
export function sessionCookieLine(req: IncomingMessage, id: string, maxAgeMs: number): string {
  return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(maxAgeMs / 1000)}${overTls(req) ? '; Secure' : ''}`;
}

/** The Set-Cookie line that makes the browser forget its session. */
export function clearedCookieLine(req: IncomingMessage): string {
  return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0${overTls(req) ? '; Secure' : ''}`;
}

/** The origin the daemon's own pages have, as this request reached it (scheme and Host header). */
export function ownOrigin(req: IncomingMessage): string | null {
  const host = req.headers.host;
  if (!host) return null;
  return `${overTls(req) ? 'https' : 'http'}://${host.toLowerCase()}`;
}
