// The contents of an in-memory file: sparse, in fixed-size pages, like a real file system.
// A hole (never written, or beyond a truncation) reads as zeros and costs nothing, so
// DkStreamSetLength to a large size or a write far past the end stays cheap. Used by the
// memory host; here in common because it is plain data with no host behind it.

const PAGE_BITS = 12;
/** 4 KiB, the page of real file systems: a one-byte write costs what it costs on Linux. */
export const PAGE_SIZE = 1 << PAGE_BITS;

export class SparseBytes {
  private readonly pages = new Map<number, Uint8Array>();
  /** The file's length; pages past it are never kept. */
  size = 0;

  /** Copy up to buffer.length bytes from position into buffer; returns the count (0 at the end). */
  read(position: number, buffer: Uint8Array): number {
    if (position >= this.size) return 0;
    const count = Math.min(buffer.length, this.size - position);
    let done = 0;
    while (done < count) {
      const at = position + done;
      const index = Math.floor(at / PAGE_SIZE);
      const within = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - within, count - done);
      const page = this.pages.get(index);
      if (page === undefined) buffer.fill(0, done, done + n);
      else buffer.set(page.subarray(within, within + n), done);
      done += n;
    }
    return count;
  }

  /** Write all of data at position, growing the file as needed. */
  write(position: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const at = position + done;
      const index = Math.floor(at / PAGE_SIZE);
      const within = at - index * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - within, data.length - done);
      let page = this.pages.get(index);
      if (page === undefined) {
        page = new Uint8Array(PAGE_SIZE);
        this.pages.set(index, page);
      }
      page.set(data.subarray(done, done + n), within);
      done += n;
    }
    if (position + data.length > this.size) this.size = position + data.length;
  }

  /** Set the length: bytes past it are dropped, and read as zeros if the file grows again. */
  truncate(length: number): void {
    if (length < this.size) {
      const lastKept = Math.floor((length - 1) / PAGE_SIZE); // -1 when length is 0
      for (const index of [...this.pages.keys()]) {
        if (index > lastKept) this.pages.delete(index);
      }
      const within = length - lastKept * PAGE_SIZE;
      if (lastKept >= 0 && within < PAGE_SIZE) this.pages.get(lastKept)?.fill(0, within);
    }
    this.size = length;
  }
}
