// A small fake Dk for the monitor's unit tests: an in-memory file tree with symbolic links
// (resolved the way a real host would: in the HOST namespace, which is exactly what the
// monitor must never let happen for guest paths), a handle table, and a log of every
// URI it was asked about, so tests can check the host never saw a path outside the mounts.
// Primitives the monitor tests do not need answer NOT_SUPPORTED.

import type { Dk, DkResult, Handle, StreamAttributes, StreamKind } from '../../src/abi/dk.ts';
import { Access, Create, OpenOption, QueryOption } from '../../src/abi/dk.ts';
import { DkError, isDkError } from '../../src/abi/errors.ts';

type Node =
  | { kind: 'directory'; ino: bigint; children: Map<string, Node> }
  | { kind: 'file'; ino: bigint; data: Uint8Array }
  | { kind: 'symlink'; ino: bigint; target: string };

interface Open {
  node: Node;
  path: string;
  writable: boolean;
}

export class FakeDk {
  private nextIno = 1n;
  readonly root: Node = { kind: 'directory', ino: this.nextIno++, children: new Map() };
  private readonly table = new Map<Handle, Open | { kind: 'other' }>();
  private nextHandle = 1;
  /** Every host path a URI-taking primitive was called with. */
  readonly seenPaths: string[] = [];
  /** Called between the monitor's walk and its open, to simulate a race. */
  beforeOpen: (() => void) | null = null;
  memory = 0;
  children = 0;

  // --- building the tree (test set-up, host-side)
  mkdirp(path: string): void {
    let n = this.root;
    for (const part of path.split('/').filter(Boolean)) {
      if (n.kind !== 'directory') throw new Error('not a dir');
      let c = n.children.get(part);
      if (!c) n.children.set(part, (c = { kind: 'directory', ino: this.nextIno++, children: new Map() }));
      n = c;
    }
  }
  writeFile(path: string, text: string): void {
    const { dir, name } = this.parentOf(path);
    dir.children.set(name, { kind: 'file', ino: this.nextIno++, data: new TextEncoder().encode(text) });
  }
  symlink(path: string, target: string): void {
    const { dir, name } = this.parentOf(path);
    dir.children.set(name, { kind: 'symlink', ino: this.nextIno++, target });
  }
  remove(path: string): void {
    const { dir, name } = this.parentOf(path);
    dir.children.delete(name);
  }
  readFile(path: string): string | null {
    const n = this.lookup(path, true);
    return typeof n === 'number' || n.kind !== 'file' ? null : new TextDecoder().decode(n.data);
  }
  exists(path: string): boolean {
    return typeof this.lookup(path, false) !== 'number';
  }
  private parentOf(path: string): { dir: Extract<Node, { kind: 'directory' }>; name: string } {
    const parts = path.split('/').filter(Boolean);
    const name = parts.pop()!;
    const dir = this.lookup('/' + parts.join('/'), true);
    if (typeof dir === 'number' || dir.kind !== 'directory') throw new Error(`no dir for ${path}`);
    return { dir, name };
  }

  /** Host-side lookup with Linux semantics (symlinks followed in the host namespace). */
  lookup(path: string, followFinal: boolean, depth = 0): Node | number {
    if (depth > 40) return DkError.SYMLINK_LOOP;
    const parts = path.split('/').filter((p) => p && p !== '.');
    const stack: Node[] = [this.root];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      const cur = stack[stack.length - 1]!;
      if (part === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      if (cur.kind !== 'directory') return DkError.NOT_A_DIRECTORY;
      const next = cur.children.get(part);
      if (!next) return DkError.NOT_FOUND;
      const last = i === parts.length - 1;
      if (next.kind === 'symlink' && (!last || followFinal)) {
        const base = next.target.startsWith('/') ? '' : '/' + this.pathOf(stack);
        const rest = parts.slice(i + 1).join('/');
        return this.lookup(`${base}/${next.target}/${rest}`, followFinal, depth + 1);
      }
      stack.push(next);
    }
    return stack[stack.length - 1]!;
  }
  private pathOf(stack: Node[]): string {
    // Names along the stack: find each child's name in its parent.
    const names: string[] = [];
    for (let i = 1; i < stack.length; i++) {
      const parent = stack[i - 1] as Extract<Node, { kind: 'directory' }>;
      for (const [k, v] of parent.children) if (v === stack[i]) names.push(k);
    }
    return names.join('/');
  }
  private attrs(n: Node): StreamAttributes {
    return {
      kind: n.kind as StreamKind,
      size: n.kind === 'file' ? n.data.length : 0,
      readable: true,
      writable: true,
      dev: 7n,
      ino: n.ino,
      nlink: 1n,
      atimeNs: 0n,
      mtimeNs: 0n,
      ctimeNs: 0n,
      ...(n.kind === 'symlink' ? { linkTarget: n.target, hostSecret: '/host/secret/path' } : {}),
    } as StreamAttributes;
  }
  private path(uri: string): string {
    const p = uri.slice(uri.indexOf(':') + 1);
    this.seenPaths.push(p);
    return p;
  }
  private add(o: Open | { kind: 'other' }): Handle {
    const h = this.nextHandle++;
    this.table.set(h, o);
    return h;
  }

  readonly dk: Dk = (() => {
    const impl: Partial<Dk> = {
      streamAttributesQuery: (uri, options) => {
        if (!uri.startsWith('file:') && !uri.startsWith('dir:')) return DkError.NOT_SUPPORTED;
        const n = this.lookup(this.path(uri), (options & QueryOption.NO_FOLLOW) === 0);
        return typeof n === 'number' ? (n as DkResult<never>) : this.attrs(n);
      },
      streamOpen: (uri, access, create, options) => {
        if (!uri.startsWith('file:') && !uri.startsWith('dir:')) return this.add({ kind: 'other' });
        this.beforeOpen?.();
        const path = this.path(uri);
        let n = this.lookup(path, (options & OpenOption.NO_FOLLOW) === 0);
        if (n === DkError.NOT_FOUND && create & Create.CREATE) {
          const { dir, name } = this.parentOf(path);
          n = uri.startsWith('dir:')
            ? { kind: 'directory', ino: this.nextIno++, children: new Map() }
            : { kind: 'file', ino: this.nextIno++, data: new Uint8Array() };
          dir.children.set(name, n);
        } else if (typeof n !== 'number' && create & Create.EXCLUSIVE) {
          return DkError.ALREADY_EXISTS;
        }
        if (typeof n === 'number') return n as DkResult<never>;
        if (n.kind === 'symlink' && !(options & OpenOption.PATH_ONLY)) return DkError.SYMLINK_LOOP;
        if (n.kind === 'file' && create & Create.TRUNCATE) n.data = new Uint8Array();
        return this.add({ node: n, path, writable: (access & (Access.WRITE | Access.APPEND)) !== 0 });
      },
      streamAttributesQueryByHandle: (h) => {
        const o = this.table.get(h);
        if (!o) return DkError.BAD_HANDLE;
        return 'node' in o ? this.attrs(o.node) : DkError.WRONG_HANDLE_TYPE;
      },
      streamRead: (h, offset, buffer) => {
        const o = this.table.get(h);
        if (!o) return DkError.BAD_HANDLE;
        if (!('node' in o) || o.node.kind !== 'file') return DkError.WRONG_HANDLE_TYPE;
        const src = o.node.data.subarray(Math.max(0, offset));
        buffer.set(src.subarray(0, buffer.length));
        return Math.min(buffer.length, src.length);
      },
      streamWrite: (h, offset, data) => {
        const o = this.table.get(h);
        if (!o) return DkError.BAD_HANDLE;
        if (!('node' in o)) return data.length; // stdout-like
        if (o.node.kind !== 'file' || !o.writable) return DkError.ACCESS_DENIED;
        const at = offset < 0 ? o.node.data.length : offset;
        const next = new Uint8Array(Math.max(o.node.data.length, at + data.length));
        next.set(o.node.data);
        next.set(data, at);
        o.node.data = next;
        return data.length;
      },
      streamSetLength: (h) => (this.table.has(h) ? 0 : DkError.BAD_HANDLE),
      streamAttributesSetByHandle: (h) => (this.table.has(h) ? 0 : DkError.BAD_HANDLE),
      streamDelete: (h) => {
        const o = this.table.get(h);
        if (!o) return DkError.BAD_HANDLE;
        if (!('node' in o)) return DkError.WRONG_HANDLE_TYPE;
        this.remove(o.path);
        return 0;
      },
      streamRename: (h, newUri) => {
        const o = this.table.get(h);
        if (!o) return DkError.BAD_HANDLE;
        if (!('node' in o)) return DkError.WRONG_HANDLE_TYPE;
        const to = this.path(newUri);
        this.remove(o.path);
        const { dir, name } = this.parentOf(to);
        dir.children.set(name, o.node);
        o.path = to;
        return 0;
      },
      streamLinkCreate: (linkUri, target, symbolic) => {
        const path = this.path(linkUri);
        if (this.exists(path)) return DkError.ALREADY_EXISTS;
        if (symbolic) {
          this.symlink(path, target);
          return 0;
        }
        const n = this.lookup(this.path(target), false);
        if (typeof n === 'number') return n as DkResult<never>;
        const { dir, name } = this.parentOf(path);
        dir.children.set(name, n);
        return 0;
      },
      objectClose: (h) => (this.table.delete(h) ? 0 : DkError.BAD_HANDLE),
      objectReference: (h) => (this.table.has(h) ? 0 : DkError.BAD_HANDLE),
      notificationEventCreate: () => this.add({ kind: 'other' }),
      virtualMemoryAlloc: (_addr, size) => {
        this.memory += size;
        return 65536;
      },
      virtualMemoryFree: (_addr, size) => {
        this.memory -= size;
        return 0;
      },
      processCreate: (uri) => {
        const n = this.lookup(this.path(uri), true);
        if (typeof n === 'number') return n as DkResult<never>;
        this.children++;
        return this.add({ kind: 'other' });
      },
      debugStringPrint: () => 0,
      systemTimeQuery: () => 42n,
    };
    return new Proxy(impl, {
      get: (target, key) => (target as Record<string | symbol, unknown>)[key] ?? (() => DkError.NOT_SUPPORTED),
    }) as Dk;
  })();
}

export function expectOk<T>(r: DkResult<T>): T {
  if (isDkError(r)) throw new Error(`expected success, got DkError ${r}`);
  return r;
}
