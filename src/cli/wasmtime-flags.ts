// wasmtime's `run` flags on drawbridge's `run`: the words before the module, as wasmtime 49
// spells them (crates/cli-flags, src/commands/run.rs), turned into drawbridge's own flags and
// the few settings that no flag of drawbridge's says (argv[0], --invoke, limits, listening
// anywhere), with a warning where the meaning differs; every other wasmtime option is refused
// with one line that names drawbridge's way. docs/wasmtime.md has the table.
//
// Words that drawbridge's own option table knows pass through unchanged (--dir and --env are
// spelled the same in both), as does everything from the module on: what follows the module
// is the guest's.

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Manifest } from '../monitor/manifest/manifest.ts';
import { parseEndpointPattern, type EndpointPattern } from '../monitor/network/pattern.ts';
import type { OptionTable } from './args.ts';

/** A run as wasmtime's flags asked for it, in drawbridge's terms. */
export interface WasmtimeRun {
  kind: 'run';
  /** drawbridge run's own words: the flags it knows, translated ones, the module and its arguments. */
  argv: string[];
  /** One line each, for stderr: where a flag's meaning differs from wasmtime's. */
  warnings: string[];
  /** --argv0: the guest's argv[0]. */
  argv0?: string;
  /** --invoke: the export to call instead of _start. */
  invoke?: string;
  /** -W max-memory-size: limits.memory, in bytes. */
  memory?: number;
  /** --fuel, -W fuel, -W timeout: limits.cpu_time, in milliseconds. */
  cpuTimeMs?: number;
  /** -S inherit-network: connecting and listening anywhere. */
  inheritNetwork: boolean;
}

export type Translation = WasmtimeRun | { kind: 'help'; text: string } | { kind: 'error'; message: string };

/** How many units of fuel one millisecond of CPU time stands for (1 unit = 1 ns). */
export const FUEL_PER_MS = 1_000_000;

const DOCS = 'docs/wasmtime.md';
const INHERIT_NETWORK_WARNING = 'drawbridge: -S inherit-network: granted connecting to any host and port (*:*) and listening on any address and port (*:*)';
const NETWORK_WAY = "drawbridge's network grants are --listen/--connect";
const PREVIEW1_WAY = 'drawbridge runs WASI preview 1 modules (wasi_snapshot_preview1) only';
const LIMITS_WAY = "drawbridge's limits are a manifest's [limits] (memory, handles, children, cpu_time, bytes_written; --manifest FILE)";
const ENGINE_WAY = 'drawbridge runs modules on V8 with the Wasm features Node.js enables';
const COMPILE_WAY =
  'drawbridge compiles with V8 (DRAWBRIDGE_WASM_TIERING=baseline|optimize|tierup picks the tier; DRAWBRIDGE_CODE_CACHE=0 turns the code cache off)';

/** wasmtime's -S keys, and drawbridge's way for those it does not take. */
const WASI_REFUSED: Record<string, string> = {
  ...keys(
    'http http-outgoing-body-buffer-chunks http-outgoing-body-chunk-size max-http-fields-size tls udp allow-ip-name-lookup network-error-code',
    NETWORK_WAY,
  ),
  ...keys('nn nn-graph threads config config-var keyvalue keyvalue-in-memory-data p3 preview0 listenfd cli-exit-with-code', PREVIEW1_WAY),
  cwd: 'the program starts in / (mount a folder there with --dir HOST::/)',
  'max-resources': "a manifest's limits.handles (--manifest FILE)",
  ...keys('hostcall-fuel max-random-size', LIMITS_WAY),
};
/** -S keys that drawbridge always behaves as (a no-op when given with this value). */
const WASI_ALWAYS: Record<string, { value: boolean; way: string }> = {
  cli: { value: true, way: 'drawbridge always provides WASI preview 1' },
  common: { value: true, way: 'drawbridge always provides WASI preview 1' },
  tcp: { value: true, way: `TCP is allowed where granted; ${NETWORK_WAY}` },
  'inherit-stdin': { value: true, way: 'the program always has stdin; redirect it in the shell (</dev/null)' },
  'inherit-stdout': { value: true, way: 'the program always has stdout; redirect it in the shell (>/dev/null)' },
  'inherit-stderr': { value: true, way: 'the program always has stderr; redirect it in the shell (2>/dev/null)' },
};

/** wasmtime's -W keys, and drawbridge's way for those it does not take. */
const WASM_REFUSED: Record<string, string> = {
  ...keys('max-table-elements max-instances max-tables max-memories trap-on-grow-failure', LIMITS_WAY),
  ...keys('max-wasm-stack async-stack-size async-stack-zeroing', "drawbridge runs on V8's stack (node --stack-size)"),
  ...keys('epoch-interruption', 'drawbridge preempts prepared modules itself (docs/serve.md)'),
  ...keys('unknown-exports-allow', 'drawbridge runs any module that exports _start and memory'),
  ...keys('unknown-imports-default', 'an import drawbridge does not provide traps when called'),
  ...keys('wmemcheck', 'there is no memory checker; --ext trace traces system calls'),
  ...keys(
    'nan-canonicalization all-proposals bulk-memory multi-memory multi-value reference-types simd relaxed-simd relaxed-simd-deterministic tail-call ' +
      'threads shared-memory shared-everything-threads memory64 component-model component-model-async component-model-more-async-builtins ' +
      'component-model-async-stackful component-model-threading component-model-error-context component-model-gc component-model-map ' +
      'component-model-memory64 function-references stack-switching gc custom-page-sizes wide-arithmetic branch-hinting extended-const ' +
      'exceptions gc-support component-model-fixed-length-lists component-model-implements concurrency-support',
    ENGINE_WAY,
  ),
};

/** The group options (-S, -W, -O, -C, -D, -R) by every spelling wasmtime accepts. */
const GROUPS: Record<string, 'S' | 'W' | 'O' | 'C' | 'D' | 'R'> = {
  '-S': 'S',
  '--wasi': 'S',
  '-W': 'W',
  '--wasm': 'W',
  '-O': 'O',
  '--optimize': 'O',
  '-C': 'C',
  '--codegen': 'C',
  '-D': 'D',
  '--debug': 'D',
  '-R': 'R',
  '--record': 'R',
};
/** What a whole group, refused, says. */
const GROUP_WAY: Record<'O' | 'C' | 'D' | 'R', string> = {
  O: COMPILE_WAY,
  C: COMPILE_WAY,
  D: 'drawbridge prints trap backtraces itself and traces system calls with --ext trace; snapshots are `drawbridge checkpoint PID`; there is no debugger',
  R: 'drawbridge records with --ext record:file=F and replays with --ext replay:file=F',
};

/** wasmtime's other run flags that take a value, and drawbridge's way for those it refuses. */
const VALUE_REFUSED: Record<string, string> = {
  '--profile': 'profile drawbridge with node --cpu-prof bin/drawbridge.js run ...',
  '--preload': 'drawbridge links one module; extensions stack with --ext',
  '--config': 'drawbridge reads its grants and limits from a manifest (--manifest FILE)',
  '--target': 'drawbridge runs on the host V8 only',
  '-g': 'there is no debugger; --ext trace traces system calls',
  '--gdbstub': 'there is no debugger; --ext trace traces system calls',
};
const FLAG_REFUSED: Record<string, string> = {
  '--allow-precompiled': 'drawbridge runs .wasm files and caches the compiled code itself ($DRAWBRIDGE_CACHE/code)',
};
/** wasmtime's run flags that drawbridge takes (and --dir/--env, which it spells the same). */
const TAKEN = ['--tcplisten', '--argv0', '--invoke', '--fuel', '--dir', '--env'];

const HELP: Record<'S' | 'W', string> = {
  S: `drawbridge takes these of wasmtime's -S (--wasi) options (see ${DOCS}):
  -S inherit-env[=y|n]       the host's whole environment (--env flags still win)
  -S inherit-network[=y|n]   grant connecting and listening anywhere (said on stderr)
  -S tcplisten=ADDR:PORT     as --listen ADDR:PORT
  -S cli, common, tcp, preview2, inherit-stdin, inherit-stdout, inherit-stderr
                             accepted: drawbridge always behaves so`,
  W: `drawbridge takes these of wasmtime's -W (--wasm) options (see ${DOCS}):
  -W max-memory-size=N       limits.memory: N bytes
  -W fuel=N                  limits.cpu_time: N ns of CPU time (1 unit of fuel = 1 ns; said on stderr)
  -W timeout=N|Ns|Nms|...    limits.cpu_time: CPU time, not wall time (said on stderr)
  -W unknown-imports-trap    accepted: imports drawbridge does not provide trap when called`,
};

function keys(list: string, way: string): Record<string, string> {
  return Object.fromEntries(list.split(' ').map((k) => [k, way]));
}

/** Whether `word`, first on the command line, is one of wasmtime's run flags (`drawbridge --dir . prog.wasm`). */
export function isWasmtimeRunFlag(word: string): boolean {
  const name = word.startsWith('--') ? word.split('=')[0]! : word.slice(0, 2);
  return Object.hasOwn(GROUPS, name) || Object.hasOwn(VALUE_REFUSED, name) || Object.hasOwn(FLAG_REFUSED, name) || TAKEN.includes(name);
}

/**
 * Whether the first word of a command line that names no command starts a `run`, as wasmtime
 * takes `wasmtime prog.wasm` for `wasmtime run prog.wasm`: a path ending in .wasm, a file that
 * starts with the Wasm magic bytes, or one of wasmtime's run flags. Anything else is an unknown
 * command.
 */
export function isImplicitRun(word: string): boolean {
  if (word.startsWith('-')) return isWasmtimeRunFlag(word);
  if (word.endsWith('.wasm')) return true;
  let fd: number | undefined;
  try {
    // A regular file only: opening a FIFO would wait for a writer.
    if (!statSync(word).isFile()) return false;
    fd = openSync(word, 'r');
    const magic = Buffer.alloc(4);
    return readSync(fd, magic, 0, 4, 0) === 4 && magic.equals(WASM_MAGIC);
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

interface State {
  out: WasmtimeRun;
  /** Translated flags, in order; the inherited environment goes first. */
  flags: string[];
  inheritEnv: boolean;
  /** What the CPU bound in force says on stderr (the last of --fuel, -W fuel, -W timeout). */
  cpuWarning?: string;
}

/**
 * drawbridge run's words for wasmtime's `run` words `argv`. `own` is drawbridge run's option
 * table: its options pass through unchanged. `hostEnv` is what -S inherit-env passes.
 */
export function translateWasmtimeFlags(argv: readonly string[], own: OptionTable, hostEnv: Readonly<Record<string, string | undefined>>): Translation {
  const ownValue = new Set<string>();
  const ownAny = new Set<string>();
  for (const [name, spec] of Object.entries(own)) {
    for (const spelling of [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])]) {
      ownAny.add(spelling);
      if (spec.type === 'string') ownValue.add(spelling);
    }
  }
  const st: State = { out: { kind: 'run', argv: [], warnings: [], inheritNetwork: false }, flags: [], inheritEnv: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' || !a.startsWith('-') || a === '-') break;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq >= 0 ? a.slice(0, eq) : a;
    if (ownAny.has(name) || !isWasmtimeRunFlag(a)) {
      // drawbridge's own, or no one's: drawbridge's parser reads it (and says what is wrong).
      st.flags.push(a);
      if (eq < 0 && ownValue.has(name) && i + 1 < argv.length) st.flags.push(argv[++i]!);
      continue;
    }
    // A wasmtime flag: its value inline (--x=V, -SV, -S=V) or in the next word.
    const short = !a.startsWith('--');
    const flag = short ? a.slice(0, 2) : name;
    let value: string | undefined = short ? (a.length > 2 ? a.slice(a[2] === '=' ? 3 : 2) : undefined) : eq >= 0 ? a.slice(eq + 1) : undefined;
    if (Object.hasOwn(FLAG_REFUSED, flag)) {
      if (value !== undefined) return { kind: 'error', message: `${flag} takes no value` };
      return { kind: 'error', message: `${flag}: not supported; ${FLAG_REFUSED[flag]}` };
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) return { kind: 'error', message: `${flag} needs a value (as in wasmtime; see ${DOCS})` };
      value = argv[++i]!;
    }
    const r = Object.hasOwn(GROUPS, flag) ? group(GROUPS[flag]!, flag, value, st) : single(flag, value, st);
    if (r !== null) return r;
  }
  const { out } = st;
  if (st.cpuWarning) out.warnings.push(st.cpuWarning);
  if (out.inheritNetwork) out.warnings.push(INHERIT_NETWORK_WARNING);
  const env = st.inheritEnv ? Object.entries(hostEnv).flatMap(([k, v]) => (v === undefined ? [] : ['--env', `${k}=${v}`])) : [];
  out.argv = [...env, ...st.flags, ...argv.slice(i)];
  return out;
}

/** A flag of its own: --tcplisten, --argv0, --invoke, --fuel, or one refused. */
function single(flag: string, value: string, st: State): Translation | null {
  switch (flag) {
    case '--tcplisten':
      st.flags.push('--listen', value);
      return null;
    case '--argv0':
      st.out.argv0 = value;
      return null;
    case '--invoke':
      st.out.invoke = value;
      return null;
    case '--fuel':
      return fuel(`--fuel ${value}`, value, st);
  }
  return { kind: 'error', message: `${flag}: not supported; ${VALUE_REFUSED[flag] ?? `see ${DOCS}`}` };
}

/** One -S/-W/-O/-C/-D/-R value: comma-separated KEY[=VALUE]s, or `help`. */
function group(g: 'S' | 'W' | 'O' | 'C' | 'D' | 'R', flag: string, value: string, st: State): Translation | null {
  const short = `-${g}`;
  if (value === 'help' || value === 'help-long') {
    if (g === 'S' || g === 'W') return { kind: 'help', text: HELP[g] };
    return { kind: 'help', text: `drawbridge takes none of wasmtime's ${short} options: ${GROUP_WAY[g]} (see ${DOCS})` };
  }
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    const key = eq >= 0 ? item.slice(0, eq) : item;
    const v = eq >= 0 ? item.slice(eq + 1) : undefined;
    const said = `${flag} ${item}`; // as typed: -S http, --wasi http
    const r =
      g === 'S'
        ? wasiKey(key, v, said, st)
        : g === 'W'
          ? wasmKey(key, v, said, st)
          : { kind: 'error' as const, message: `${said}: not supported; ${GROUP_WAY[g]}` };
    if (r !== null) return r;
  }
  return null;
}

function wasiKey(key: string, v: string | undefined, said: string, st: State): Translation | null {
  switch (key) {
    case 'inherit-env': {
      const b = bool(v, said);
      if (typeof b !== 'boolean') return b;
      st.inheritEnv = b;
      return null;
    }
    case 'inherit-network': {
      const b = bool(v, said);
      if (typeof b !== 'boolean') return b;
      st.out.inheritNetwork = b;
      return null;
    }
    case 'tcplisten':
      if (v === undefined) return { kind: 'error', message: `${said}: needs a value: -S tcplisten=ADDR:PORT` };
      st.flags.push('--listen', v);
      return null;
    case 'preview2': {
      const b = bool(v, said);
      return typeof b === 'boolean' ? null : b;
    }
  }
  if (Object.hasOwn(WASI_ALWAYS, key)) {
    const b = bool(v, said);
    if (typeof b !== 'boolean') return b;
    const always = WASI_ALWAYS[key]!;
    return b === always.value ? null : { kind: 'error', message: `${said}: not supported; ${always.way}` };
  }
  if (Object.hasOwn(WASI_REFUSED, key)) return { kind: 'error', message: `${said}: not supported; ${WASI_REFUSED[key]}` };
  return { kind: 'error', message: `${said}: unknown -S option (drawbridge takes -S inherit-env, inherit-network, tcplisten=ADDR:PORT; -S help lists them)` };
}

function wasmKey(key: string, v: string | undefined, said: string, st: State): Translation | null {
  switch (key) {
    case 'max-memory-size': {
      const n = number(v, said);
      if (typeof n !== 'number') return n;
      st.out.memory = n;
      return null;
    }
    case 'fuel':
      return v === undefined ? { kind: 'error', message: `${said}: needs a value: -W fuel=N` } : fuel(said, v, st);
    case 'timeout': {
      const ms = duration(v);
      if (ms === null) return { kind: 'error', message: `${said}: expected a duration: N (seconds), Ns, Nms, Nus, Nns` };
      st.out.cpuTimeMs = ms;
      st.cpuWarning = `drawbridge: ${said}: drawbridge bounds CPU time, not wall-clock time: limits.cpu_time = ${ms} ms; a program that waits is not ended, and one that computes past it ends with status 152, where wasmtime traps`;
      return null;
    }
    case 'unknown-imports-trap': {
      const b = bool(v, said);
      if (typeof b !== 'boolean') return b;
      return b ? null : { kind: 'error', message: `${said}: not supported; an import drawbridge does not provide always traps when called` };
    }
  }
  if (Object.hasOwn(WASM_REFUSED, key)) return { kind: 'error', message: `${said}: not supported; ${WASM_REFUSED[key]}` };
  return { kind: 'error', message: `${said}: unknown -W option (drawbridge takes -W max-memory-size=N, fuel=N, timeout=T; -W help lists them)` };
}

/** --fuel N and -W fuel=N: a CPU time bound at 1 ns per unit, with a warning that says so. */
function fuel(said: string, v: string, st: State): Translation | null {
  const n = number(v, said);
  if (typeof n !== 'number') return n;
  const ms = Math.max(1, Math.ceil(n / FUEL_PER_MS));
  st.out.cpuTimeMs = ms;
  st.cpuWarning = `drawbridge: ${said}: drawbridge bounds CPU time, not instructions: limits.cpu_time = ${ms} ms (1 unit of fuel = 1 ns); past it the program ends with status 152, where wasmtime traps`;
  return null;
}

/** A wasmtime boolean: nothing, y, yes, true, n, no, false. */
function bool(v: string | undefined, said: string): boolean | Translation {
  if (v === undefined || v === 'y' || v === 'yes' || v === 'true') return true;
  if (v === 'n' || v === 'no' || v === 'false') return false;
  return { kind: 'error', message: `${said}: expected y or n (or yes, no, true, false)` };
}

/** A wasmtime number: decimal or 0x hex, underscores ignored. */
function number(v: string | undefined, said: string): number | Translation {
  const s = (v ?? '').replaceAll('_', '');
  const n = /^0x[0-9a-fA-F]+$/.test(s) ? Number.parseInt(s.slice(2), 16) : /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) return { kind: 'error', message: `${said}: expected a number (decimal, or hexadecimal after 0x)` };
  return n;
}

/** A wasmtime duration (N seconds, Ns, Nms, Nus, Nμs, Nns) in whole milliseconds, at least 1. */
function duration(v: string | undefined): number | null {
  const m = /^(\d+)(s|ms|us|μs|ns)?$/.exec(v ?? '');
  if (!m) return null;
  const perMs: Record<string, number> = { s: 1 / 1000, ms: 1, us: 1000, μs: 1000, ns: 1_000_000 };
  return Math.max(1, Math.ceil(Number(m[1]) / perMs[m[2] ?? 's']!));
}

/** The manifest with what `run` adds to it: limits, and -S inherit-network's grants. */
export function withWasmtimeGrants(manifest: Manifest, run: WasmtimeRun): Manifest {
  let out = manifest;
  if (run.memory !== undefined || run.cpuTimeMs !== undefined) {
    out = {
      ...out,
      limits: {
        ...out.limits,
        ...(run.memory !== undefined ? { memory: run.memory } : {}),
        ...(run.cpuTimeMs !== undefined ? { cpuTimeMs: run.cpuTimeMs } : {}),
      },
    };
  }
  if (run.inheritNetwork) {
    const anywhere = parseEndpointPattern('*:*') as EndpointPattern;
    out = { ...out, network: { connect: [...out.network.connect, anywhere], listen: [...out.network.listen, anywhere] } };
  }
  return out;
}
