// The console's calls to the daemon: same origin, the session cookie (HttpOnly: the page never
// sees it), answers as JSON or bytes, errors as the API's one line.

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function failure(r: Response): Promise<ApiError> {
  let message = `${r.status} ${r.statusText}`;
  try {
    const body = (await r.json()) as { error?: string };
    if (body.error) message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(r.status, message);
}

/** A JSON call (body: JSON; a Blob or bytes go as they are); the answer's JSON, or null for 204. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const raw = body instanceof Blob || body instanceof Uint8Array;
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': raw ? 'application/octet-stream' : 'application/json' },
    body: body === undefined ? undefined : raw ? (body as BodyInit) : JSON.stringify(body),
  });
  if (!r.ok) throw await failure(r);
  if (r.status === 204) return null as T;
  return (await r.json()) as T;
}

/** A call whose answer is bytes (a checkpoint). */
export async function apiBytes(method: string, path: string): Promise<Blob> {
  const r = await fetch(path, { method, credentials: 'same-origin' });
  if (!r.ok) throw await failure(r);
  return r.blob();
}

/** Follow a picoprocess's output from byte 0 until it ends or `signal` aborts; each chunk goes to `onBytes`. */
export async function followOutput(id: number, which: 'stdout' | 'stderr', onBytes: (b: Uint8Array) => void, signal: AbortSignal): Promise<void> {
  const r = await fetch(`/v1/processes/${id}/${which}?follow=1&from=0`, { credentials: 'same-origin', signal });
  if (!r.ok || !r.body) throw await failure(r);
  const reader = r.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onBytes(value);
  }
}
