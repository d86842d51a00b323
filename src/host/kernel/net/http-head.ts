// HTTP heads as http.server: streams carry them, shared by the node host (node:http does the
// protocol) and the loopback network (host/memory/net/http.ts does it in memory):
//  - the request reaches the guest as HTTP/1.1 text, Transfer-Encoding left out (the end of
//    the stream is the end of the decoded body);
//  - the guest writes its response head as text; the host parses it once complete, and keeps
//    Connection, Keep-Alive and Transfer-Encoding to itself (it frames the body).

import { DkError, type DkErrorCode } from '../../../abi/errors.ts';

/** Longest response head the guest may write (and request head the loopback host takes). */
export const HTTP_HEAD_MAX = 64 * 1024;
/** Response headers that are the host's to decide. */
export const HOP_BY_HOP = new Set(['connection', 'transfer-encoding', 'keep-alive']);

export interface ResponseHead {
  status: number;
  reason: string;
  headers: [string, string][];
}

/** "GET /x HTTP/1.1\r\nName: value\r\n...\r\n\r\n" from a request's parts (name, value pairs). */
export function requestHeadText(method: string, target: string, version: string, raw: readonly string[]): string {
  let text = `${method} ${target} HTTP/${version}\r\n`;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'transfer-encoding') continue;
    text += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  return text + '\r\n';
}

/** Parse "HTTP/1.1 200 OK\r\nName: value..." (no final blank line); hop-by-hop headers dropped. */
export function parseResponseHead(text: string): ResponseHead | DkErrorCode {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (m === null) return DkError.INVALID_ARGUMENT;
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return DkError.INVALID_ARGUMENT;
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return DkError.INVALID_ARGUMENT;
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    headers.push([name, line.slice(colon + 1).trim()]);
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers };
}

const CR = 13;
const LF = 10;

/** Index just past the first "\r\n\r\n" in bytes[from..], or -1. */
export function headEnd(bytes: Uint8Array, from = 0, to = bytes.length): number {
  for (let i = Math.max(from, 3); i < to; i++) {
    if (bytes[i] === LF && bytes[i - 1] === CR && bytes[i - 2] === LF && bytes[i - 3] === CR) return i + 1;
  }
  return -1;
}

export function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * The response head as the guest writes it, in pieces: push() each write until the head is
 * complete; then the parsed head and the body bytes that came in the same write.
 */
export class ResponseHeadBuffer {
  private soFar = new Uint8Array(0);

  push(data: Uint8Array): { head: ResponseHead; body: Uint8Array } | null | DkErrorCode {
    const all = new Uint8Array(this.soFar.length + data.length);
    all.set(this.soFar, 0);
    all.set(data, this.soFar.length);
    const end = headEnd(all, Math.max(0, this.soFar.length - 3));
    if (end < 0) {
      if (all.length > HTTP_HEAD_MAX) return DkError.INVALID_ARGUMENT;
      this.soFar = all;
      return null;
    }
    const head = parseResponseHead(latin1(all, 0, end - 4));
    if (typeof head === 'number') return head;
    this.soFar = new Uint8Array(0);
    return { head, body: all.slice(end) };
  }
}
