// Sizes and durations as a manifest writes them: "256MiB", "1GiB", "30s", "500ms", or a bare
// number (bytes, seconds). Parsing is strict — an unknown unit or a fraction of a byte is an
// error the manifest check reports, never a silent default.

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

/** "256MiB" | "1.5GB" | 1024 -> bytes; a string error message when it is not a size. */
export function parseSize(value: unknown): number | string {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) return 'expected a whole number of bytes >= 0';
    return n;
  }
  if (typeof value !== 'string') return 'expected a size such as "256MiB" or a number of bytes';
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(value);
  const unit = m ? SIZE_UNITS[m[2]!] : undefined;
  if (!m || unit === undefined) {
    return `expected a size such as "256MiB" (units: ${Object.keys(SIZE_UNITS).filter(Boolean).join(', ')})`;
  }
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes)) return 'size must be a whole number of bytes below 2^53';
  return bytes;
}

/** "30s" | "500ms" | "2m" | 30 (seconds) -> milliseconds; a string error message otherwise. */
export function parseDurationMs(value: unknown): number | string {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) return 'expected a number of seconds >= 0';
    return Math.round(n * 1000);
  }
  if (typeof value !== 'string') return 'expected a duration such as "30s" or a number of seconds';
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/.exec(value);
  const unit = m ? DURATION_UNITS_MS[m[2] || 's'] : undefined;
  if (!m || unit === undefined) return 'expected a duration such as "30s", "500ms", "2m" or "1h"';
  const ms = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(ms)) return 'duration too large';
  return ms;
}

/** 268435456 -> "256MiB", for summaries. */
export function formatSize(bytes: number): string {
  for (const [unit, k] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= k && bytes % k === 0) return `${bytes / k}${unit}`;
  }
  return `${bytes}B`;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
