// Bearer tokens: how `drawbridge serve` and `drawbridge receive` make the secret that guards
// them, and how they compare what a client presents with it. One place, so both make tokens
// of the same strength and compare them the same way (in constant time).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random token: 32 bytes, as 64 hex digits. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** A test of a presented token against `token`, in time that depends on neither. */
export function tokenMatcher(token: string): (presented: string) => boolean {
  const expected = createHash('sha256').update(token).digest();
  // Hashes have equal length, so timingSafeEqual never throws and leaks no length.
  return (presented) => timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
}
