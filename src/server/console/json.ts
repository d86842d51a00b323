// Answers and small bodies of the console's own routes, in the API's style: JSON, errors as
// { "error": "one line" }.

import type { IncomingMessage, ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** What is read and thrown away past a body's limit, so that the refusal arrives before the connection closes. */
const DISCARD_LIMIT = 1024 * 1024;

/** A body of at most `limit` bytes; null when it is longer (answer 413 with connection: close). */
export function readSmallBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit + DISCARD_LIMIT) req.destroy();
      if (size > limit) {
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
