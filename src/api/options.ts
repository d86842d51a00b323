// The options of the public API that several of its functions share: what a picoprocess is
// granted, and where its standard streams come from and go. Types only, with nothing of the
// runtime in them, so that the package's declarations stand alone.

/** A directory of the host granted to the guest. */
export interface DirGrant {
  /** The host directory (a relative path is taken from the current directory). */
  host: string;
  /** Where the guest sees it (default: as `drawbridge run --dir DIR`: the same path, a relative one at /DIR). */
  guest?: string;
  /** Mount it read-only (default: read-write). */
  readOnly?: boolean;
}

/** What a picoprocess is granted. Nothing is granted by default: no files, no environment, no network. */
export interface Grants {
  /**
   * A manifest to start from: its TOML text, or the same data as an object (snake_case keys, as
   * in the TOML: `{ mounts: [...], limits: { memory: '64MiB' } }`). See `drawbridge manifest check`
   * and docs/manifest.md. The options below add to it.
   */
  manifest?: string | Record<string, unknown>;
  /** Directories to mount and pre-open: `"HOST::GUEST"`, `"DIR"` (as `drawbridge run --dir`), or a {@link DirGrant}. */
  dirs?: readonly (string | DirGrant)[];
  /** Environment variables the guest sees (none of the host's are passed unless named here). */
  env?: Readonly<Record<string, string>>;
  /**
   * Addresses the guest may listen on (`"127.0.0.1:8080"`). A picoprocess that starts (not a
   * restored one, whose sockets come from its snapshot) also gets a listening socket pre-opened at
   * each, after the directories, as `drawbridge run --listen`.
   */
  listen?: readonly string[];
  /** Addresses the guest may connect to (patterns: `"10.0.0.0/8:*"`, `"*.example.com:443"`), as `--connect`. */
  connect?: readonly string[];
}

/**
 * Where the guest's standard input comes from:
 * - bytes or a string: read in order, then end of input;
 * - `'pipe'`: written later with {@link Picoprocess.writeStdin}, ended with {@link Picoprocess.closeStdin};
 * - a Node readable stream or any async iterable of bytes or strings: read as the guest reads, then end of input;
 * - `'inherit'`: this process's own stdin; `'ignore'`: end of input at once.
 */
export type StdinOption = Uint8Array | string | 'pipe' | 'inherit' | 'ignore' | NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>;

/**
 * Where the guest's standard output (or error) goes:
 * - `'pipe'`: collected (`run`'s result) or readable as a stream ({@link Picoprocess.stdout});
 * - `'inherit'`: this process's own; `'ignore'`: nowhere;
 * - a Node writable stream, or a function given each chunk.
 */
export type OutputOption = 'pipe' | 'inherit' | 'ignore' | NodeJS.WritableStream | ((chunk: Uint8Array) => void);
