// A request another host of the cluster forwarded (cluster.ts), made to this daemon's own
// control API as a local client makes it: over its loopback address or unix socket, with its
// token. Its answer goes back whole (a followed stream is not forwarded: http-api.ts refuses it).

import { request } from 'node:http';
import type { Connection } from '../connection-file.ts';
import { requestTarget } from '../client.ts';
import type { ForwardedAnswer, ForwardedRequest } from './cluster.ts';

/** Headers of an answer worth carrying back (the others are the transport's). */
const KEPT = ['content-type', 'x-drawbridge-from', 'x-drawbridge-dropped'];

export function localRequest(connection: Connection, req: ForwardedRequest): Promise<ForwardedAnswer> {
  const body = req.body ? Buffer.from(req.body, 'base64') : null;
  const target = requestTarget(connection);
  return new Promise((resolve, reject) => {
    const r = request(
      {
        ...target,
        method: req.method,
        path: req.path,
        headers: { authorization: `Bearer ${connection.token}`, ...(body ? { 'content-length': body.length } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const h of KEPT) if (typeof res.headers[h] === 'string') headers[h] = res.headers[h];
          resolve({ status: res.statusCode ?? 500, headers, body: Buffer.concat(chunks).toString('base64') });
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    r.end(body ?? undefined);
  });
}
