// Cost per Dk call of each extension against no extension, in the same run.
//
// Two measurements, in this process:
// - Dk: N calls straight into the stacked Dk of a picoprocess on the in-memory host (the
//   monitor under the extensions, as in a real run): DkSystemTimeQuery (a clock: the cheapest
//   call there is) and DkStreamWrite of 1 byte to null: (bytes in, a digest in the log).
//   Replay answers from a log recorded of the same calls just before.
// - guest: the bench clock guest (clock_gettime in a loop, timed by the guest itself) run as a
//   picoprocess with each stack. Replay is left out there: it replays the recorded times, so
//   the guest's own timing says nothing.
// Trace writes to a sink that drops the text (the cost of formatting, not of a disk); record
// keeps its lines in memory (what replay then reads).

import { readFileSync } from 'node:fs';
import { Clock, type Dk } from '../src/abi/dk.ts';
import type { ExtensionHost, TextSink } from '../src/extensions/api.ts';
import { createMemoryHost } from '../src/host/memory/index.ts';
import { createNodeHost } from '../src/host/node/index.ts';
import { emptyManifest } from '../src/monitor/manifest/manifest.ts';
import { createMonitor, policyFromManifest } from '../src/monitor/monitor.ts';
import { compileModule } from '../src/runtime/module-cache.ts';
import { startCommand } from '../src/runtime/picoprocess.ts';
import { loadExtensions, type ExtensionRequest } from '../src/runtime/extensions.ts';
import type { Benchmark, BenchContext } from './lib/context.ts';
import { reportValue } from './lib/guest-report.ts';
import { wasmPath } from './lib/paths.ts';
import { fixed, median } from './lib/stats.ts';
import { printTable } from './lib/table.ts';

const DK_CALLS = 200_000;
const GUEST_CALLS = 500_000;

interface Config {
  label: string;
  exts: ExtensionRequest[];
  guest: boolean;
}

const CONFIGS: Config[] = [
  { label: 'none', exts: [], guest: true },
  { label: 'trace (text)', exts: [{ name: 'trace', options: {} }], guest: true },
  { label: 'trace (json)', exts: [{ name: 'trace', options: { format: 'json' } }], guest: true },
  { label: 'trace, filtered out', exts: [{ name: 'trace', options: { filter: 'memory' } }], guest: true },
  { label: 'remap (1 rule)', exts: [{ name: 'remap', options: { '/etc': '/tenant/etc' } }], guest: true },
  { label: 'record', exts: [{ name: 'record', options: { file: 'log' } }], guest: true },
  { label: 'replay', exts: [{ name: 'replay', options: { file: 'log' } }], guest: false },
];

/** Trace output dropped, record lines kept (replay reads them back as the file "log"). */
function benchHost(): ExtensionHost & { log: string[] } {
  const log: string[] = [];
  const drop: TextSink = { write: () => {} };
  return {
    log,
    output: (file) => (file === 'log' ? { write: (t) => void log.push(t) } : drop),
    readText: () => log.join(''),
  };
}

/** ns per call of the clock and of a 1-byte write, through `exts` above a monitored memory-host Dk. */
async function dkCosts(exts: ExtensionRequest[], host: ExtensionHost): Promise<[number, number]> {
  const process = createMemoryHost({ deterministic: true }).createProcess();
  const monitored = createMonitor(process.dk, policyFromManifest(emptyManifest()));
  const stack = await loadExtensions(exts, { host });
  const dk: Dk = stack.wrap(monitored);
  const h = dk.streamOpen('null:', 2, 0, 0) as number;
  const byte = new Uint8Array([0x2a]);
  let t = performance.now();
  for (let i = 0; i < DK_CALLS; i++) dk.systemTimeQuery(Clock.MONOTONIC);
  const clock = ((performance.now() - t) * 1e6) / DK_CALLS;
  t = performance.now();
  for (let i = 0; i < DK_CALLS; i++) dk.streamWrite(h, -1, byte);
  const write = ((performance.now() - t) * 1e6) / DK_CALLS;
  stack.close();
  process.kill(0);
  return [clock, write];
}

async function guestCost(module: WebAssembly.Module, exts: ExtensionRequest[], host: ExtensionHost): Promise<number> {
  const stack = await loadExtensions(exts, { host });
  const out: Uint8Array[] = [];
  const running = await startCommand({
    host: createNodeHost(),
    module,
    args: ['clock', String(GUEST_CALLS)],
    manifest: emptyManifest(),
    stdout: (b) => void out.push(b.slice()),
    stderr: 'null',
    wrapDk: stack.wrap,
  });
  const status = await running.done;
  stack.close();
  const text = Buffer.concat(out).toString();
  if (status.exitCode !== 0 || reportValue(text, 'calls') !== GUEST_CALLS)
    throw new Error(`clock guest failed: ${status.exitCode} ${status.error ?? ''} ${text}`);
  return reportValue(text, 'elapsed_ns') / GUEST_CALLS;
}

export const extCalls: Benchmark = {
  name: 'ext',
  description: 'extensions: cost per Dk call of trace, remap, record, replay against none',
  byDefault: false,
  async run(ctx: BenchContext) {
    const module = await compileModule(readFileSync(wasmPath('clock')), 'clock');
    const dk: Record<string, [number[], number[]]> = {};
    const guest: Record<string, number[]> = {};
    // One untimed round first, so that no configuration pays for the JIT warming up.
    const warm = benchHost();
    for (const c of CONFIGS) await dkCosts(c.exts, warm);
    for (let rep = 0; rep < ctx.reps; rep++) {
      // One host per rep: record fills its log, replay (next in CONFIGS) reads it.
      const host = benchHost();
      for (const c of CONFIGS) {
        const [clock, write] = await dkCosts(c.exts, host);
        (dk[c.label] ??= [[], []])[0].push(clock);
        dk[c.label]![1].push(write);
      }
      const ghost = benchHost();
      for (const c of CONFIGS.filter((x) => x.guest)) {
        try {
          (guest[c.label] ??= []).push(await guestCost(module, c.exts, ghost));
        } catch (e) {
          ctx.fail(`ext ${c.label}: ${(e as Error).message}`);
        }
      }
    }
    const base = dk.none!.map(median);
    const baseGuest = median(guest.none ?? [NaN]);
    const rows = CONFIGS.map((c) => {
      const [clock, write] = dk[c.label]!.map(median) as [number, number];
      const g = c.guest ? median(guest[c.label] ?? [NaN]) : NaN;
      return [
        c.label,
        fixed(clock, 1),
        fixed(clock - base[0]!, 1),
        fixed(write, 1),
        fixed(write - base[1]!, 1),
        c.guest ? fixed(g, 1) : '-',
        c.guest ? fixed(g - baseGuest, 1) : '-',
      ];
    });
    printTable(
      `Extensions: ns per Dk call (median of ${ctx.reps}; Dk: ${DK_CALLS} direct calls on the memory host, monitor included; guest: clock_gettime x ${GUEST_CALLS}, timed by the guest)`,
      ['extension', 'Dk clock', '+', 'Dk write 1 B', '+', 'guest clock', '+'],
      rows,
    );
  },
};
