// The CSRF defence of the console's session cookie, beside SameSite=Strict (which still lets a
// page of another port of the same host send the cookie: a guest's web server on 127.0.0.1 is
// "same site"). A request that rides the cookie must come from the daemon's own pages: its
// Origin header, when there is one, is the daemon's own origin, and its Sec-Fetch-Site, when
// there is one, says same-origin. A request that changes anything (any method but GET and
// HEAD) must carry at least one of the two, as every browser's fetch does; a GET with
// neither is a navigation of an old browser or a tool, and reads only.
//
// The bearer token is no ambient credential (a page cannot make a browser send it), so
// requests that carry it are not judged here.

import type { IncomingMessage } from 'node:http';
import { ownOrigin } from './cookie.ts';

/** Why a request with the session cookie is refused, or null when it is the console's own. */
export function crossOriginRefusal(req: IncomingMessage): string | null {
  const origin = req.headers.origin;
  const site = req.headers['sec-fetch-site'];
  const reading = req.method === 'GET' || req.method === 'HEAD';
  const refused = 'cross-origin request refused: the session cookie works only from the console at / (other clients send the bearer token)';
  if (origin !== undefined && origin.toLowerCase() !== ownOrigin(req)) return refused;
  if (site !== undefined && site !== 'same-origin' && !(reading && site === 'none')) return refused;
  if (origin === undefined && site === undefined && !reading) return refused;
  return null;
}
