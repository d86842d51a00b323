// The public API of drawbridge's browser build (dist/browser/drawbridge.js), by hand: index.ts
// implements it and is checked against it, and scripts/build-browser.ts copies it to
// dist/browser/drawbridge.d.ts. docs/browser.md explains it.

/** A module or snapshot: its bytes, or a URL (fetched; relative to the page). */
export type Source = Uint8Array | ArrayBuffer | string | URL;

/** A folder's contents: files as text (UTF-8) or bytes, folders as objects. */
export interface FileTree {
  [name: string]: string | Uint8Array | FileTree;
}

/** Where a file tree is kept between visits (indexedDbFileStore). */
export interface FileStore {
  load(): Promise<FileTree | null>;
  save(tree: FileTree): Promise<void>;
  clear(): Promise<void>;
}

/** A folder of the page's file tree granted to the guest at `guest` (from `host`, default the same path). */
export interface MountOption {
  guest: string;
  host?: string;
  /** Default "rw". */
  mode?: 'ro' | 'rw';
}

/** Output as text (decoded as UTF-8 across chunks) and as the bytes written. */
export type OutputCallback = (text: string, bytes: Uint8Array) => void;

/** Asked when the guest reads stdin and nothing is waiting: more input, or null for its end. */
export type StdinCallback = () => Promise<string | Uint8Array | null> | string | Uint8Array | null;

/** A rectangle of the guest's frame buffer changed (include/drawbridge/fb.h). */
export interface Frame {
  width: number;
  height: number;
  /** The whole frame, RGBA bytes row after row, live: read it now (it keeps changing). */
  pixels: Uint8Array;
  /** The rectangle that changed. */
  x: number;
  y: number;
  w: number;
  h: number;
}

/** An input event for the guest's display: type 1 key (code: the key), 2 pointer at (code, value), 3 button (code: which, value: 1 down, 0 up); fb.h names them. */
export interface InputEvent {
  type: number;
  code: number;
  value: number;
}

export interface HostOptions {
  /** What the guest is granted: folders of the file tree ("/data": read-write at the same path). Default: none. */
  mounts?: readonly (string | MountOption)[];
  env?: Readonly<Record<string, string>>;
  /** Bytes of linear memory the guest may have (default 256 MiB): a memory.grow past it fails in the guest. */
  memoryLimit?: number;
  /** The in-memory file system's contents at start (from its root). */
  files?: FileTree;
  /** Keep the files here: loaded at start (instead of `files` when it holds a tree), saved at exit. */
  fileStore?: FileStore;
  /** Default true (with a fileStore). */
  saveFilesAtExit?: boolean;
  /** A string or bytes (then end of input), a callback, or nothing (then writeStdin and endStdin). */
  stdin?: string | Uint8Array | StdinCallback;
  stdout?: OutputCallback;
  stderr?: OutputCallback;
  /** Told of every rectangle of the frame buffer the guest marks changed. */
  onFrame?: (frame: Frame) => void;
}

export interface StartOptions extends HostOptions {
  module: Source;
  /** The arguments after argv[0]. */
  args?: readonly string[];
  /** argv[0] (default: the module's file name). */
  name?: string;
}

export interface RestoreOptions extends HostOptions {
  /** A snapshot file (drawbridge's format, as Node writes it). */
  snapshot: Source;
  /** The page holds no host key: say that you trust where this snapshot comes from. */
  trustUnsealed?: boolean;
}

export interface ExitStatus {
  exitCode: number;
  /** One line when it trapped, misused the ABI or was killed. */
  error?: string;
  /** Checkpointed and stopped. */
  checkpointed?: boolean;
}

export interface Running {
  /** Settles when it ends (after saving the files, with a fileStore). */
  readonly done: Promise<ExitStatus>;
  /** Whether checkpoint can work: the module is prepared (drawbridge prepare). */
  readonly capturable: boolean;
  /** Its snapshot (a file Node's drawbridge restore reads), taken at its next wait; it then stops unless leaveRunning. */
  checkpoint(options?: { leaveRunning?: boolean }): Promise<Uint8Array>;
  /** Hand input to stdin; false when it is ended or too much is waiting unread (1 MiB). */
  writeStdin(input: string | Uint8Array): boolean;
  /** End of input. */
  endStdin(): void;
  /** Stop it (exit status 137). */
  kill(): void;
  /** Hand an input event to its frame buffer's display; false when it has ended or the event is not one. */
  input(event: InputEvent): boolean;
  /** Its file system now. */
  files(): FileTree;
  /** Save the file system to the fileStore now. */
  saveFiles(): Promise<void>;
}

export declare class SnapshotError extends Error {}

/** Start a WASI command module. */
export declare function start(options: StartOptions): Promise<Running>;
/** Run one to its end: its exit status and its files then. */
export declare function run(options: StartOptions): Promise<ExitStatus & { files: FileTree }>;
/** Continue a snapshot under the page's grants (what it asks for beyond them is refused in one line). */
export declare function restore(options: RestoreOptions): Promise<Running>;
/** The file tree kept in IndexedDB under `name`. */
export declare function indexedDbFileStore(name: string): FileStore;
