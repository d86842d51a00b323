// Access to the guest's linear memory from the library OS.
//
// The memory's ArrayBuffer is replaced whenever the guest grows its memory (memory.grow
// detaches the old one), so every syscall that touches memory calls refresh() first and
// never keeps a view across anything that can grow memory. A pointer or length outside
// memory is a guest fault: like wasmtime, we trap rather than return EFAULT.

export class GuestFault extends Error {
  constructor(what: string) {
    super(`pointer out of bounds: ${what}`);
    this.name = 'GuestFault';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Views of nothing, until attach (shared: a view of length 0 holds nothing to change). */
const NO_BYTES = new Uint8Array(0);
const NO_VIEW = new DataView(new ArrayBuffer(0));

export class GuestMemory {
  private memory: WebAssembly.Memory | null = null;
  u8: Uint8Array = NO_BYTES;
  dv: DataView = NO_VIEW;

  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.refresh();
  }

  get attached(): boolean {
    return this.memory !== null;
  }

  /**
   * Re-read memory.buffer if the guest grew its memory since the last call. Growing detaches
   * the old ArrayBuffer, so a view whose length dropped to 0 is stale: checking that is cheaper
   * than reading memory.buffer on every syscall.
   */
  refresh(): void {
    if (this.u8.byteLength !== 0) return;
    const buffer = this.memory?.buffer;
    if (buffer && buffer !== this.u8.buffer) {
      this.u8 = new Uint8Array(buffer);
      this.dv = new DataView(buffer);
    }
  }

  /** A view of [ptr, ptr+len) after checking it lies inside memory (no copy). */
  bytes(ptr: number, len: number): Uint8Array {
    // Pointers and lengths arrive as signed i32: read them as the u32 they are.
    ptr >>>= 0;
    len >>>= 0;
    const end = ptr + len;
    if (end > this.u8.length) throw new GuestFault(`${len} bytes at ${ptr}`);
    return this.u8.subarray(ptr, end);
  }

  u32(ptr: number): number {
    return this.dv.getUint32(ptr >>> 0, true);
  }
  setU32(ptr: number, value: number): void {
    this.dv.setUint32(ptr >>> 0, value, true);
  }
  setU64(ptr: number, value: bigint): void {
    this.dv.setBigUint64(ptr >>> 0, value, true);
  }
  setU16(ptr: number, value: number): void {
    this.dv.setUint16(ptr >>> 0, value, true);
  }
  setU8(ptr: number, value: number): void {
    this.dv.setUint8(ptr >>> 0, value);
  }

  /** A UTF-8 string from guest memory; null when it is not valid UTF-8 (EILSEQ). */
  string(ptr: number, len: number): string | null {
    const view = this.bytes(ptr, len);
    try {
      return utf8.decode(view);
    } catch {
      return null;
    }
  }

  /** Copy bytes into guest memory at ptr (checked). */
  write(ptr: number, data: Uint8Array): void {
    this.bytes(ptr, data.length).set(data);
  }
}

export function encodeUtf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}
