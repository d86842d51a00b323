// Reads the `key=value` report line that the per-call and copy guests print.

export function reportValue(text: string, key: string): number {
  const m = new RegExp(`\\b${key}=(\\d+)`).exec(text);
  return m ? Number(m[1]) : NaN;
}
