// `drawbridge run`: flags spelled as wasmtime spells them.
//   drawbridge run [--dir HOST[::GUEST]]... [--env NAME[=VALUE]]... [--manifest FILE] [--] MODULE.wasm [ARGS...]

import { AUTO_PREPARE_MAX_BYTES, PrepareError } from '../runtime/prepare.ts';
import { MemoryLimitError } from '../runtime/quotas.ts';
import { loadProgram, startOptions } from '../runtime/load.ts';
import { serveControlSoon } from '../checkpoint/control.ts';
import { writeSealedSnapshot } from '../checkpoint/snapshot-file.ts';
import { measureWith } from '../checkpoint/measure.ts';
import { createNodeHost } from '../host/node/index.ts';
import { flushInheritedOutput } from '../host/node/index.ts';
import { ModuleError } from '../runtime/module-cache.ts';
import { keepEarlyCode, takeEarlyModule } from './early-module.ts';
import { startCommand } from '../runtime/picoprocess.ts';
import { startCpuWatchdog } from '../runtime/cpu-watchdog.ts';
import { nowMs } from '../runtime/clock.ts';
import { GuestError, PreopenError } from '../libos/index.ts';
import type { CommandIo } from './manifest-command.ts';
import { ExtensionError, ExtensionHalt, loadExtensions, type ExtensionStack } from '../runtime/extensions.ts';
import { grantsFromFlags, measuredManifest } from './grant-flags.ts';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultDurablePath, setUpDurable, type DurableSetup } from '../checkpoint/durable-run.ts';
import { checkpointStart, logControlHandler } from '../checkpoint/log-control.ts';
import { optionsHelp, parseCommandArgs, type OptionTable } from './args.ts';
import type { DenialLog } from '../monitor/monitor.ts';
import { translateWasmtimeFlags, withWasmtimeGrants } from './wasmtime-flags.ts';
import { formatResults, invokePlan } from './invoke-values.ts';
import { FrameBufferViewError, parseListenAddress } from '../server/fb/view-address.ts';
import type { RunView } from '../server/fb/run-view.ts';

/** The options of `drawbridge run` (bin/drawbridge.js's VALUE_FLAGS names its string options too). */
export const RUN_OPTIONS = {
  dir: {
    type: 'string',
    multiple: true,
    value: 'HOST[::GUEST]',
    help: 'mount the host directory HOST at GUEST (default: the same path;\na relative DIR is mounted at /DIR), read-write, and pre-open it',
  },
  env: { type: 'string', multiple: true, value: 'NAME=VALUE', help: "set an environment variable (--env NAME passes the host's value)" },
  manifest: { type: 'string', value: 'FILE', needs: 'a file', help: 'start from the grants and limits of a manifest (TOML; see\n`drawbridge manifest check`)' },
  listen: {
    type: 'string',
    multiple: true,
    value: 'ADDR:PORT',
    help: "grant listening on ADDR:PORT and pre-open a listening TCP socket\nthere, after the pre-opened directories (as wasmtime's --tcplisten;\nthe program calls accept() on it); IPv6 as [ADDR]:PORT",
  },
  connect: {
    type: 'string',
    multiple: true,
    value: 'HOST:PORT',
    help: "grant connecting to HOST:PORT (patterns as the manifest's\n[network] connect: 10.0.0.0/8:*, *.example.com:443, localhost:8080)",
  },
  ext: {
    type: 'string',
    multiple: true,
    value: 'NAME[:OPTIONS]',
    needs: 'a value: --ext NAME[:key=value,...]',
    help: [
      'stack an extension (repeatable; the first is nearest the program,',
      "after the manifest's [[extensions]]): trace, remap, record, replay,",
      'a module path or a package; OPTIONS are key=value,key=value, e.g.',
      '--ext trace:format=json,file=t.log,filter=streams',
      '--ext record:file=run.log   --ext replay:file=run.log',
      '--ext remap:/etc=/tenant/etc   (see docs/extensions.md)',
    ].join('\n'),
  },
  durable: {
    type: 'string',
    value: 'FILE',
    help: [
      'log mode: append every answer the outside world gives the program to a',
      'durable log (FILE; --durable alone: the cache folder, removed when the run',
      'ends), so that `drawbridge checkpoint` works for any module, prepared or not,',
      'and `drawbridge restore` replays it (docs/durable.md); as [continuity]',
      'mode = "log" in a manifest',
    ].join('\n'),
  },
  fb: {
    type: 'string',
    value: 'ADDR:PORT',
    help: [
      "serve the program's frame buffer on a web page at ADDR:PORT, live, with",
      'mouse and keyboard sent back (include/drawbridge/fb.h); listens on that',
      'address only (127.0.0.1:8080: this machine), and the URL printed on',
      'stderr carries a token that the page needs',
    ].join('\n'),
  },
  log: {
    type: 'string',
    multiple: true,
    value: 'WHAT',
    help: "print on stderr, as it happens: 'denials' (each call the monitor\nrefuses, with the rule that refused it; also DRAWBRIDGE_LOG=denials)",
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies OptionTable;

/** What --log (and DRAWBRIDGE_LOG, comma-separated) may name. */
const LOG_TOPICS = ['denials'];

export const RUN_USAGE = `usage: drawbridge run [OPTIONS] [--] MODULE.wasm [ARGS...]

Runs a WebAssembly (WASI preview 1) command module as a picoprocess. It sees only what
the options grant: no files, no environment, no network by default.

options:
${optionsHelp(RUN_OPTIONS)}

Modules up to ${AUTO_PREPARE_MAX_BYTES / 1024} KiB are prepared for checkpoints at first run (cached by content hash;
bigger ones with \`drawbridge prepare\`), so \`drawbridge checkpoint PID\` can capture them.
DRAWBRIDGE_CHECKPOINT=0 turns that off. Preparation is capped (DRAWBRIDGE_PREPARE_TIMEOUT,
default 60s; DRAWBRIDGE_PREPARE_MEMORY, default 4GiB): past a cap the module runs unprepared,
and one line says it cannot be checkpointed.

The manifest's [limits] hold (defaults: memory 256MiB, cpu_time 60s): memory is the
module's memory maximum (memory.grow past it fails inside the program); past cpu_time the
program is ended with status 152 (128 + SIGXCPU) and one line.

Modules up to 128 KiB are compiled with V8's optimizing tier before they start, and the
machine code is cached, so only the first run of a module pays for that compile; bigger
modules start in V8's baseline tier, as node:wasi does. Caches live in
$DRAWBRIDGE_CACHE (default ~/.cache/drawbridge): prepared/ and code/. DRAWBRIDGE_CODE_CACHE=0
turns the code cache off; DRAWBRIDGE_WASM_TIERING=baseline|optimize|tierup overrides the tiering.

The exit status is the program's; a trap exits with 134.

wasmtime's run flags work too (--tcplisten, --argv0, --invoke, --fuel, -S inherit-env, ...): docs/wasmtime.md.`;

interface ParsedRun {
  dirs: string[];
  env: string[];
  manifest: string | undefined;
  exts: string[];
  /** --listen ADDR:PORT (pre-opened listening sockets) and --connect patterns. */
  listen: string[];
  connect: string[];
  /** --durable[=FILE]: '' for the default place; undefined when not given. */
  durable: string | undefined;
  /** --log topics and DRAWBRIDGE_LOG's. */
  log: string[];
  /** --fb ADDR:PORT: where to serve the frame buffer. */
  fb: { host: string; port: number } | null;
  module: string;
  args: string[];
}

/** The run's options, module and the guest's arguments (every word after the module); 'help', or a mistake's message. */
function parse(argv: string[]): ParsedRun | 'help' | string {
  // --durable takes its FILE only after '=': alone, it is the default place.
  const words = argv.slice();
  for (let i = 0; i < words.length && words[i]!.startsWith('-') && words[i] !== '--'; i++) {
    if (words[i] === '--durable') words[i] = '--durable=';
    else if (RUN_OPTIONS[words[i]!.slice(2) as keyof typeof RUN_OPTIONS]?.type === 'string' && !words[i]!.includes('=')) i++;
  }
  const r = parseCommandArgs(RUN_OPTIONS, words, { stopAtPositional: true });
  if (r.kind === 'help') return 'help';
  if (r.kind === 'error') return r.reason === 'unknown option' ? `${r.message} (see drawbridge run --help)` : r.message;
  const [module, ...args] = r.positionals;
  if (module === undefined) return 'missing MODULE.wasm (see drawbridge run --help)';
  const v = r.values;
  const log = [...v.log, ...(process.env.DRAWBRIDGE_LOG ?? '').split(',').filter(Boolean)];
  const unknown = log.find((t) => !LOG_TOPICS.includes(t));
  if (unknown !== undefined) return `--log ${unknown}: expected one of ${LOG_TOPICS.join(', ')} (also DRAWBRIDGE_LOG)`;
  const fb = v.fb === undefined ? null : parseListenAddress(v.fb);
  if (typeof fb === 'string') return fb;
  return { dirs: v.dir, env: v.env, manifest: v.manifest, exts: v.ext, listen: v.listen, connect: v.connect, log, durable: v.durable, fb, module, args };
}

export async function runCommandLine(argv: string[], io: CommandIo): Promise<number> {
  // wasmtime's spellings first (wasmtime-flags.ts): into drawbridge's flags, or one line.
  const w = translateWasmtimeFlags(argv, RUN_OPTIONS, process.env);
  if (w.kind !== 'run') {
    if (w.kind === 'help') io.out(w.text);
    else io.err(`drawbridge run: ${w.message}`);
    return w.kind === 'help' ? 0 : 2;
  }
  const p = parse(w.argv);
  if (p === 'help') {
    io.out(RUN_USAGE);
    return 0;
  }
  if (typeof p === 'string') {
    io.err(`drawbridge run: ${p}`);
    return 2;
  }
  const grants = await grantsFromFlags({ manifest: p.manifest, dir: p.dirs, env: p.env, listen: p.listen, connect: p.connect, ext: p.exts });
  if (typeof grants === 'string') {
    io.err(`drawbridge run: ${grants}`);
    return 2;
  }
  const { base, extensions: requests } = grants;
  const manifest = withWasmtimeGrants(grants.manifest, w);
  for (const line of w.warnings) io.err(line);
  // Pre-opens are named as the user typed the guest side, as wasmtime names them.
  const preopens = [
    ...base.mounts.filter((m) => !p.dirs.length || manifest.mounts.some((x) => x.guest === m.guest)).map((m) => ({ guestPath: m.guest, name: m.guest })),
  ];
  for (const spec of p.dirs) {
    const sep = spec.indexOf('::');
    const guestText = sep >= 0 ? spec.slice(sep + 2) : spec;
    const guestPath = guestText.startsWith('/') ? guestText : '/' + guestText;
    const mount = manifest.mounts.find((m) => m.guest === normalise(guestPath));
    if (!mount) continue;
    const i = preopens.findIndex((x) => x.guestPath === mount.guest);
    const entry = { guestPath: mount.guest, name: guestText };
    if (i >= 0) preopens[i] = entry;
    else preopens.push(entry);
  }
  let stack: ExtensionStack | null = null;
  // Log mode: the flag, or the manifest's [continuity] mode = "log" (docs/durable.md).
  const logMode = p.durable !== undefined || manifest.continuity?.mode === 'log';
  const durablePath = logMode ? p.durable || manifest.continuity?.log || defaultDurablePath(p.module) : null;
  let durable: DurableSetup | null = null;
  let view: RunView | null = null;
  try {
    if (requests.length) stack = await loadExtensions(requests);
    // Capturable when prepared (Asyncify): small modules are prepared at first run, bigger
    // ones only if `drawbridge prepare` did it before (prepare.ts says why).
    // A small prepared module compiles eagerly, its code cached (module-cache.ts). With
    // DRAWBRIDGE_WASM_TIERING=tierup it starts in V8's baseline tier instead and, past its
    // first time slice, moves onto a new instance, where V8's dynamic tier-up can replace a
    // loop that would otherwise stay in baseline code for the whole call. Not under
    // extensions: the move interrupts a wait, which a trace would show and a record/replay
    // log would hold at a point that depends on timing.
    const early = takeEarlyModule(p.module) ?? undefined;
    // A big module runs unprepared, so under the CPU watchdog: its thread starts while the module compiles.
    if (early && Number.isFinite(manifest.limits.cpuTimeMs)) startCpuWatchdog();
    const program = await loadProgram({
      source: p.module,
      name: p.module,
      early,
      // In log mode the log is the capture: the module runs as it is, unprepared.
      prepare: logMode ? 'never' : process.env.DRAWBRIDGE_CHECKPOINT === '0' ? { never: 'checkpoints are off for this run (DRAWBRIDGE_CHECKPOINT=0)' } : 'auto',
      cache: false,
      mayTierUp: stack === null && !logMode,
      memoryLimit: manifest.limits.memory,
      moduleSha256: manifest.moduleSha256,
    });
    const why = program.why;
    // A preparation stopped at a cap is said at once: the user would otherwise learn it only
    // when a checkpoint is refused.
    if (program.capped) io.err(`drawbridge: ${why}`);
    const invoke = w.invoke === undefined ? undefined : invokePlan(program.image.bytes, w.invoke, p.args);
    if (typeof invoke === 'string') {
      io.err(`drawbridge run: ${invoke}`);
      return 2;
    }
    const args = manifest.args ?? [w.argv0 ?? p.module, ...p.args];
    // The manifest's args are the whole command line the program sees: say so when others were typed.
    if (manifest.args && p.args.length > 0)
      io.err(`drawbridge: the manifest's args replace the ${p.args.length} argument(s) after ${p.module}, which are not passed`);
    const listenSockets = p.listen.map((a) => `tcp.server:${a}`);
    // Log mode only: hashing a big module is a noticeable part of a short run.
    const start =
      durablePath === null
        ? null
        : checkpointStart(
            { sha256: program.sourceSha256(), size: program.image.bytes.length, name: program.image.name },
            args,
            manifest,
            preopens,
            listenSockets,
            requests,
          );
    if (durablePath !== null) durable = setUpDurable(resolve(durablePath), program.sourceSha256(), start!);
    const host = createNodeHost();
    if (p.fb) {
      const { startFrameBufferView } = await import('../server/fb/run-view.ts');
      view = await startFrameBufferView(p.fb, p.module, host);
      io.err(`drawbridge: ${p.module}'s frame buffer: ${view.url}`);
    }
    const startedMs = nowMs();
    const running = await startCommand({
      ...startOptions(program, { extensions: stack ? () => stack!.save() : undefined }),
      host,
      args,
      ...(invoke ? { invoke } : {}),
      manifest,
      preopens,
      listenSockets,
      stdin: 'inherit',
      stdout: 'inherit',
      stderr: 'inherit',
      wrapDk: durable ? durable.wrap(stack?.wrap) : stack?.wrap,
      onMemory: durable?.memory.onMemory,
      onDenied: denialPrinter(p, io),
    });
    view?.follow(running.process.id);
    const checkpoint = running.checkpoint;
    const measurement = () => measureWith(program.sourceSha256(), measuredManifest(manifest, requests));
    if (durable) {
      serveControlSoon(logControlHandler(durable, start!, program.image.bytes, running.process, measurement));
    } else if (checkpoint || why) {
      // An unprepared module still answers `drawbridge checkpoint`, to say how to prepare it.
      serveControlSoon(async (req) => {
        if (!checkpoint) return { ok: false, error: why! };
        const snapshot = await checkpoint(req.leaveRunning);
        // Sealed with the host key, bound to what it runs under (docs/snapshot.md, "Sealed snapshots").
        return { ok: true, bytes: writeSealedSnapshot(req.out, snapshot, { keyFile: req.key, encrypt: req.encrypt, measurement: measurement() }) };
      });
    }
    const status = await running.done;
    // The guest's own output first, then ours.
    flushInheritedOutput();
    // A big module's code, as far as this run compiled it, for the next run (early-module.ts).
    if (early) await keepEarlyCode(early, program.module, running.instance, nowMs() - startedMs);
    if (status.error) io.err(`drawbridge: ${p.module}: ${status.error}`);
    if (status.backtrace) io.err(['wasm backtrace:', ...status.backtrace].join('\n'));
    if (invoke && status.results) for (const line of formatResults(status.results, invoke.results)) io.out(line);
    return status.exitCode;
  } catch (e) {
    if (e instanceof ExtensionError) {
      io.err(`drawbridge run: ${e.message}`);
      return 2;
    }
    if (e instanceof ExtensionHalt) {
      flushInheritedOutput();
      io.err(`drawbridge: ${p.module}: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof FrameBufferViewError) {
      io.err(`drawbridge run: ${e.message}`);
      return 2;
    }
    if (e instanceof ModuleError || e instanceof GuestError || e instanceof MemoryLimitError || e instanceof PrepareError || e instanceof PreopenError) {
      io.err(`drawbridge run: ${e instanceof MemoryLimitError ? `${p.module}: ` : ''}${e.message}`);
      return e instanceof GuestError ? 1 : 2;
    }
    throw e;
  } finally {
    await view?.close();
    stack?.close();
    durable?.file.close();
    // A log in the default place is kept only while it may be needed: when this process dies.
    if (durable && !p.durable && !manifest.continuity?.log) rmSync(durable.file.path, { force: true });
  }
}

function normalise(path: string): string {
  const parts = path.split('/').filter((x) => x && x !== '.');
  return '/' + parts.join('/');
}

/**
 * What run says of the monitor's refusals: each one with --log denials; without it, only the
 * first refusal of output past limits.bytes_written (the program would otherwise lose its output
 * in silence, and may still exit 0).
 */
function denialPrinter(p: ParsedRun, io: CommandIo): DenialLog {
  const all = p.log.includes('denials');
  let quotaSaid = false;
  return (d) => {
    if (all) io.err(`drawbridge: denied ${d.call} ${d.subject}: ${d.rule}`);
    else if (d.quota === 'bytes_written' && !quotaSaid) {
      quotaSaid = true;
      io.err(`drawbridge: ${p.module}: output refused: ${d.rule}`);
    }
  };
}
