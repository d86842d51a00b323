// Keeping the browser host's files in IndexedDB: one record per store name holding a file tree
// (files.ts), loaded when a picoprocess starts and saved on request or when it ends. Values are
// structured-cloned by IndexedDB, so bytes stay bytes. The types below are the small part of
// IndexedDB this uses (the project's TypeScript config for Node code has no DOM library).

import type { FileTree } from './files.ts';

interface Request<T> {
  result: T;
  error: unknown;
  onsuccess: (() => void) | null;
  onerror: (() => void) | null;
}
interface OpenRequest extends Request<Database> {
  onupgradeneeded: (() => void) | null;
}
interface Database {
  objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(
    store: string,
    mode: 'readonly' | 'readwrite',
  ): { objectStore(name: string): Store; oncomplete: (() => void) | null; onerror: (() => void) | null };
  close(): void;
}
interface Store {
  get(key: string): Request<unknown>;
  put(value: unknown, key: string): Request<unknown>;
  delete(key: string): Request<unknown>;
}
interface Factory {
  open(name: string, version: number): OpenRequest;
}

const DATABASE = 'drawbridge';
const STORE = 'files';

/** Where a file tree is kept between visits of a page. */
export interface FileStore {
  /** The tree saved last, or null when none was. */
  load(): Promise<FileTree | null>;
  save(tree: FileTree): Promise<void>;
  clear(): Promise<void>;
}

function promised<T>(r: Request<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(new Error(`IndexedDB: ${String(r.error)}`));
  });
}

function open(): Promise<Database> {
  const factory = (globalThis as { indexedDB?: Factory }).indexedDB;
  if (!factory) return Promise.reject(new Error('IndexedDB is not available in this page'));
  const r = factory.open(DATABASE, 1);
  r.onupgradeneeded = () => {
    if (!r.result.objectStoreNames.contains(STORE)) r.result.createObjectStore(STORE);
  };
  return promised(r);
}

async function inStore<T>(mode: 'readonly' | 'readwrite', fn: (s: Store) => Request<T>): Promise<T> {
  const db = await open();
  try {
    return await promised(fn(db.transaction(STORE, mode).objectStore(STORE)));
  } finally {
    db.close();
  }
}

/** The file tree kept in IndexedDB under `name` (one database, "drawbridge", for every name). */
export function indexedDbFileStore(name: string): FileStore {
  return {
    load: async () => ((await inStore('readonly', (s) => s.get(name))) as FileTree | undefined) ?? null,
    save: async (tree) => {
      await inStore('readwrite', (s) => s.put(tree, name));
    },
    clear: async () => {
      await inStore('readwrite', (s) => s.delete(name));
    },
  };
}
