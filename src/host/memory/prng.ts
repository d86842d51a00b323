// A seeded pseudo-random generator for the deterministic memory host: xoshiro128**, seeded
// through splitmix32. Reproducible, NOT cryptographic: a deterministic host is for tests,
// replay and simulation, never for secrets.

export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  fill(buffer: Uint8Array): void {
    let i = 0;
    for (; i + 4 <= buffer.length; i += 4) {
      const v = this.nextU32();
      buffer[i] = v & 0xff;
      buffer[i + 1] = (v >>> 8) & 0xff;
      buffer[i + 2] = (v >>> 16) & 0xff;
      buffer[i + 3] = v >>> 24;
    }
    if (i < buffer.length) {
      let v = this.nextU32();
      for (; i < buffer.length; i++, v >>>= 8) buffer[i] = v & 0xff;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
