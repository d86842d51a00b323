// wasmtime's `run` flags on drawbridge: the translation (src/cli/wasmtime-flags.ts), the
// --invoke values (src/cli/invoke-values.ts) and export types (src/wasm/export-types.ts), and
// each flag end to end through bin/drawbridge.js on the built guests (guests/cli/).
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { isImplicitRun, isWasmtimeRunFlag, translateWasmtimeFlags, withWasmtimeGrants, FUEL_PER_MS, type WasmtimeRun } from '../../src/cli/wasmtime-flags.ts';
import { RUN_OPTIONS } from '../../src/cli/run-command.ts';
import { formatResults, invokeArguments, invokePlan, rustFloat } from '../../src/cli/invoke-values.ts';
import { exportedFunctionType } from '../../src/wasm/export-types.ts';
import { emptyManifest } from '../../src/monitor/manifest/manifest.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const REACTOR = join(ROOT, 'build/guests/cli/invoke_reactor.wasm');
const COMMAND = join(ROOT, 'build/guests/cli/argv_env.wasm');
const LIMITS = join(ROOT, 'build/guests/runtime/limits.wasm');
const CLIENT = join(ROOT, 'build/guests/net/client.wasm');
const SERVER = join(ROOT, 'build/guests/net/http_server.wasm');
const BIN = join(ROOT, 'bin/drawbridge.js');

function translate(argv: string[], env: Record<string, string> = {}) {
  return translateWasmtimeFlags(argv, RUN_OPTIONS, env);
}
function ok(argv: string[], env: Record<string, string> = {}): WasmtimeRun {
  const t = translate(argv, env);
  assert.equal(t.kind, 'run', JSON.stringify(t));
  return t as WasmtimeRun;
}
function refusal(argv: string[]): string {
  const t = translate(argv);
  assert.equal(t.kind, 'error', JSON.stringify(t));
  return (t as { message: string }).message;
}

describe('translateWasmtimeFlags', () => {
  it("passes any command line of drawbridge's own flags through unchanged (property)", () => {
    const own = Object.entries(RUN_OPTIONS).filter(([name]) => name !== 'help');
    const flag = fc.oneof(
      ...own.map(([name, spec]) =>
        spec.type === 'string'
          ? fc.tuple(fc.string(), fc.boolean()).map(([v, inline]) => (inline ? [`--${name}=${v}`] : [`--${name}`, v]))
          : fc.constant([`--${name}`]),
      ),
    );
    // After the module, anything (wasmtime's flags included) is the guest's.
    const tail = fc.tuple(
      fc.boolean(),
      fc.string().filter((m) => m !== '' && !m.startsWith('-')),
      fc.array(fc.string(), { maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(flag, { maxLength: 8 }), fc.option(tail), (flags, rest) => {
        const argv = [...flags.flat(), ...(rest ? [...(rest[0] ? ['--'] : []), rest[1], ...rest[2]] : [])];
        const t = ok(argv);
        assert.deepEqual(t.argv, argv);
        assert.deepEqual(t.warnings, []);
        assert.equal(t.argv0 ?? t.invoke ?? t.memory ?? t.cpuTimeMs, undefined);
        assert.equal(t.inheritNetwork, false);
      }),
      { numRuns: 500 },
    );
  });

  it('--tcplisten and -S tcplisten are --listen; --argv0 and --invoke are kept; words after the module are the guest’s', () => {
    assert.deepEqual(ok(['--tcplisten', '127.0.0.1:80', 'm.wasm']).argv, ['--listen', '127.0.0.1:80', 'm.wasm']);
    assert.deepEqual(ok(['--tcplisten=127.0.0.1:80', '-S', 'tcplisten=[::1]:8', 'm.wasm']).argv, ['--listen', '127.0.0.1:80', '--listen', '[::1]:8', 'm.wasm']);
    const t = ok(['--argv0', 'name', '--invoke=add', '--dir', '.', 'm.wasm', '-S', 'http', '--fuel', '1']);
    assert.equal(t.argv0, 'name');
    assert.equal(t.invoke, 'add');
    assert.deepEqual(t.argv, ['--dir', '.', 'm.wasm', '-S', 'http', '--fuel', '1']);
    assert.deepEqual(ok(['--', '-S', 'http']).argv, ['--', '-S', 'http']);
    // Not a flag of anyone's: left for drawbridge's parser to refuse.
    assert.deepEqual(ok(['--bogus', 'm.wasm']).argv, ['--bogus', 'm.wasm']);
  });

  it("-S inherit-env passes the host's environment first, so --env still wins; every spelling of -S works", () => {
    const env = { A: '1', B: 'x=y' };
    for (const spelling of [
      ['-S', 'inherit-env'],
      ['-Sinherit-env'],
      ['-S=inherit-env'],
      ['--wasi', 'inherit-env'],
      ['--wasi=inherit-env'],
      ['-S', 'inherit-env=yes'],
    ]) {
      assert.deepEqual(ok([...spelling, '--env', 'A=2', 'm.wasm'], env).argv, ['--env', 'A=1', '--env', 'B=x=y', '--env', 'A=2', 'm.wasm'], spelling.join(' '));
    }
    assert.deepEqual(ok(['-S', 'inherit-env', '-S', 'inherit-env=n', 'm.wasm'], env).argv, ['m.wasm']);
    assert.match(refusal(['-S', 'inherit-env=maybe', 'm.wasm']), /^-S inherit-env=maybe: expected y or n/);
  });

  it('-S inherit-network grants connecting and listening anywhere, and says so in one line', () => {
    const t = ok(['-S', 'inherit-env=n,inherit-network', 'm.wasm']);
    assert.equal(t.inheritNetwork, true);
    assert.equal(t.warnings.length, 1);
    assert.match(
      t.warnings[0]!,
      /^drawbridge: -S inherit-network: granted connecting to any host and port \(\*:\*\) and listening on any address and port \(\*:\*\)$/,
    );
    const m = withWasmtimeGrants(emptyManifest(), t);
    assert.deepEqual(
      m.network.connect.map((p) => p.text),
      ['*:*'],
    );
    assert.deepEqual(
      m.network.listen.map((p) => p.text),
      ['*:*'],
    );
    const off = ok(['-S', 'inherit-network', '-S', 'inherit-network=n', 'm.wasm']);
    assert.equal(off.inheritNetwork, false);
    assert.deepEqual(off.warnings, []);
  });

  it('-W max-memory-size is limits.memory; --fuel, -W fuel and -W timeout are limits.cpu_time, with a warning', () => {
    const mem = ok(['-W', 'max-memory-size=0x10_0000', 'm.wasm']);
    assert.equal(mem.memory, 1 << 20);
    assert.deepEqual(mem.warnings, []);
    assert.equal(withWasmtimeGrants(emptyManifest(), mem).limits.memory, 1 << 20);
    const fuel = ok(['--fuel', '2500000', 'm.wasm']);
    assert.equal(fuel.cpuTimeMs, Math.ceil(2_500_000 / FUEL_PER_MS));
    assert.equal(fuel.warnings.length, 1);
    assert.match(
      fuel.warnings[0]!,
      /^drawbridge: --fuel 2500000: drawbridge bounds CPU time, not instructions: limits\.cpu_time = 3 ms \(1 unit of fuel = 1 ns\)/,
    );
    assert.equal(ok(['-W', 'fuel=1_000_000_000', 'm.wasm']).cpuTimeMs, 1000);
    assert.equal(ok(['-W', 'fuel=1', 'm.wasm']).cpuTimeMs, 1);
    const timeout = ok(['-W', 'timeout=2s', 'm.wasm']);
    assert.equal(timeout.cpuTimeMs, 2000);
    assert.match(timeout.warnings[0]!, /not wall-clock time/);
    assert.equal(ok(['-W', 'timeout=5', 'm.wasm']).cpuTimeMs, 5000);
    assert.equal(ok(['-W', 'timeout=250ms', 'm.wasm']).cpuTimeMs, 250);
    assert.equal(withWasmtimeGrants(emptyManifest(), timeout).limits.cpuTimeMs, 2000);
    // The last bound wins, and only it is said.
    const last = ok(['--fuel', '1', '-W', 'timeout=2s', 'm.wasm']);
    assert.equal(last.cpuTimeMs, 2000);
    assert.equal(last.warnings.length, 1);
    assert.match(last.warnings[0]!, /-W timeout=2s/);
    assert.match(refusal(['-W', 'max-memory-size=lots', 'm.wasm']), /^-W max-memory-size=lots: expected a number/);
    assert.match(refusal(['--fuel', '-1', 'm.wasm']), /^--fuel -1: expected a number/);
  });

  it("refuses every other wasmtime option with one line that names drawbridge's way", () => {
    assert.equal(refusal(['-S', 'http', 'm.wasm']), "-S http: not supported; drawbridge's network grants are --listen/--connect");
    const cases = [
      ['-S', 'nn'],
      ['-S', 'cwd=/x'],
      ['-S', 'inherit-stdout=n'],
      ['-S', 'max-resources=3'],
      ['-W', 'max-wasm-stack=1000'],
      ['-W', 'simd=n'],
      ['-W', 'unknown-imports-trap=n'],
      ['-W', 'max-table-elements=3'],
      ['-O', 'opt-level=2'],
      ['--optimize', 'opt-level=0'],
      ['-C', 'cache=n'],
      ['-D', 'coredump=core'],
      ['-R', 'path=trace'],
      ['--profile', 'perfmap'],
      ['--preload', 'a=b.wasm'],
      ['--config', 'c.toml'],
      ['--target', 'x86_64'],
      ['-g', '1234'],
      ['--allow-precompiled'],
    ];
    for (const c of cases) {
      const m = refusal([...c, 'm.wasm']);
      assert.ok(m.startsWith(`${c[0]}`) && m.includes(': not supported; ') && !m.includes('\n'), m);
    }
    assert.match(refusal(['-S', 'frobnicate', 'm.wasm']), /^-S frobnicate: unknown -S option/);
    assert.match(refusal(['-W', 'frobnicate', 'm.wasm']), /^-W frobnicate: unknown -W option/);
    assert.match(refusal(['--invoke']), /^--invoke needs a value/);
    assert.match(refusal(['-S']), /^-S needs a value/);
  });

  it('accepts the -S and -W settings drawbridge always has; -S help and -W help say what it takes', () => {
    assert.deepEqual(ok(['-S', 'cli,common=y,tcp,preview2=n,inherit-stdin,inherit-stdout=yes,inherit-stderr', '-W', 'unknown-imports-trap', 'm.wasm']).argv, [
      'm.wasm',
    ]);
    for (const g of ['-S', '-W', '-O']) {
      const t = translate([g, 'help']);
      assert.equal(t.kind, 'help');
      assert.match((t as { text: string }).text, /docs\/wasmtime\.md/);
    }
  });

  it('isImplicitRun: a .wasm path, a file that starts with the Wasm magic, or a wasmtime run flag', () => {
    assert.equal(isImplicitRun('prog.wasm'), true);
    assert.equal(isImplicitRun('missing.wasm'), true); // run says there is no such file
    assert.equal(isImplicitRun('bogus'), false);
    assert.equal(isImplicitRun(join(ROOT, 'README.md')), false);
    assert.equal(isImplicitRun(ROOT), false);
    const dir = mkdtempSync(join(tmpdir(), 'db-wt-'));
    writeFileSync(join(dir, 'prog'), readFileSync(COMMAND));
    assert.equal(isImplicitRun(join(dir, 'prog')), true);
    for (const f of ['--dir', '--env=A=1', '--invoke', '--tcplisten', '-Sinherit-env', '-W', '--wasi']) assert.equal(isWasmtimeRunFlag(f), true, f);
    for (const f of ['--bogus', '-h', '--help', '--version', '--listen']) assert.equal(isImplicitRun(f), false, f);
  });
});

describe('--invoke values and export types', () => {
  before(() => assert.ok(existsSync(REACTOR), 'guests not built: node scripts/build-guests.ts'));

  it("reads each export's type from the module's sections", () => {
    const bytes = readFileSync(REACTOR);
    assert.deepEqual(exportedFunctionType(bytes, 'add'), { params: ['i32', 'i32'], results: ['i32'] });
    assert.deepEqual(exportedFunctionType(bytes, 'mul64'), { params: ['i64', 'i64'], results: ['i64'] });
    assert.deepEqual(exportedFunctionType(bytes, 'halve'), { params: ['f32'], results: ['f32'] });
    assert.deepEqual(exportedFunctionType(bytes, 'hypot2'), { params: ['f64', 'f64'], results: ['f64'] });
    assert.deepEqual(exportedFunctionType(bytes, 'hello'), { params: [], results: [] });
    assert.equal(exportedFunctionType(bytes, 'memory'), 'not a function');
    assert.equal(exportedFunctionType(bytes, 'nope'), 'missing');
    // An imported function exported again has its import's type.
    const reexport = Uint8Array.from([
      ...[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
      ...[1, 6, 1, 0x60, 1, 0x7e, 1, 0x7d], // type 0: (i64) -> f32
      ...[2, 7, 1, 1, 0x6d, 1, 0x66, 0, 0], // import "m" "f" func type 0
      ...[7, 5, 1, 1, 0x67, 0, 0], // export "g" func 0
    ]);
    assert.deepEqual(exportedFunctionType(reexport, 'g'), { params: ['i64'], results: ['f32'] });
    // A module cut short is an error, not a hang.
    for (let n = 8; n < reexport.length; n++) {
      try {
        exportedFunctionType(reexport.subarray(0, n), 'g');
      } catch (e) {
        assert.ok(e instanceof Error);
      }
    }
  });

  it("parses arguments as wasmtime does: decimal or 0x hex integers in range, Rust's float syntax", () => {
    const i32 = { params: ['i32' as const], results: [] };
    const i64 = { params: ['i64' as const], results: [] };
    const f32 = { params: ['f32' as const], results: [] };
    assert.deepEqual(invokeArguments('f', i32, ['-2147483648']), [-2147483648]);
    assert.deepEqual(invokeArguments('f', i32, ['0x7fffffff']), [2147483647]);
    assert.deepEqual(invokeArguments('f', i32, ['0x-10']), [-16]);
    assert.deepEqual(invokeArguments('f', i32, ['+5']), [5]);
    assert.match(invokeArguments('f', i32, ['2147483648']) as string, /out of range for an i32/);
    assert.match(invokeArguments('f', i32, ['0xffffffff']) as string, /out of range/);
    assert.match(invokeArguments('f', i32, ['-0x1']) as string, /expected an i32/);
    assert.match(invokeArguments('f', i32, ['1.5']) as string, /expected an i32/);
    assert.deepEqual(invokeArguments('f', i64, ['-9223372036854775808']), [-9223372036854775808n]);
    assert.deepEqual(invokeArguments('f', f32, ['0.1']), [Math.fround(0.1)]);
    assert.deepEqual(invokeArguments('f', f32, ['-inf']), [-Infinity]);
    assert.ok(Number.isNaN(invokeArguments('f', f32, ['NaN'])[0]));
    assert.match(invokeArguments('f', f32, ['0x10']) as string, /expected an f32/);
    assert.equal(invokeArguments('add', { params: ['i32', 'i32'], results: [] }, ['1']), 'not enough arguments for `add`: it takes i32, i32');
  });

  it("prints results as Rust's Display does: shortest digits that read back, never an exponent", () => {
    assert.equal(rustFloat(1e21, false), '1000000000000000000000');
    assert.equal(rustFloat(1e-7, false), '0.0000001');
    assert.equal(rustFloat(0.1, false), '0.1');
    assert.equal(rustFloat(Math.fround(0.1), true), '0.1');
    assert.equal(rustFloat(Math.fround(0.1), false), '0.10000000149011612');
    assert.equal(rustFloat(3, false), '3');
    assert.equal(rustFloat(-0, false), '-0');
    assert.equal(rustFloat(-1.5, true), '-1.5');
    assert.deepEqual(formatResults([NaN, Infinity, -Infinity, 7, -3n, null], ['f64', 'f32', 'f64', 'i32', 'i64', 'externref']), [
      'NaN',
      'inf',
      '-inf',
      '7',
      '-3',
      '<null externref>',
    ]);
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const s = rustFloat(x, false);
        assert.doesNotMatch(s, /e/);
        assert.ok(Object.is(Number(s), x), `${x} -> ${s}`);
        const y = Math.fround(x);
        if (Number.isFinite(y)) assert.ok(Object.is(Math.fround(Number(rustFloat(y, true))), y));
      }),
      { numRuns: 2000 },
    );
  });

  it('invokePlan: the call and its result types, or the error wasmtime gives', () => {
    const bytes = readFileSync(REACTOR);
    assert.deepEqual(invokePlan(bytes, 'mul64', ['3', '-4', 'extra']), { name: 'mul64', args: [3n, -4n], results: ['i64'] });
    assert.equal(invokePlan(bytes, 'nope', []), 'no func export named `nope` found');
    assert.equal(invokePlan(bytes, 'memory', []), 'no func export named `memory` found');
  });
});

describe('wasmtime flags end to end (bin/drawbridge.js)', () => {
  before(() => {
    assert.ok([REACTOR, COMMAND, LIMITS, CLIENT, SERVER].every(existsSync), 'guests not built: node scripts/build-guests.ts');
    assert.ok(existsSync(join(ROOT, 'dist')), 'not built: npm run build');
  });
  const cli = (args: string[], env: Record<string, string> = {}) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it('drawbridge MODULE.wasm ARGS is run; flags first too; an unknown word is still an unknown command', () => {
    const r = cli([COMMAND, 'a', '-S', 'http']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `argv[0]=${COMMAND}\nargv[1]=a\nargv[2]=-S\nargv[3]=http\nenvc=0\n`);
    const f = cli(['--argv0', 'tool', COMMAND]);
    assert.equal(f.out, 'argv[0]=tool\nenvc=0\n');
    for (const word of ['bogus', 'README.md']) {
      const u = cli([word]);
      assert.equal(u.code, 2);
      assert.equal(u.err, `drawbridge: unknown command "${word}"; try drawbridge --help\n`);
    }
    const help = cli(['run', '--help']);
    assert.match(help.out, /docs\/wasmtime\.md/);
  });

  it('--invoke on a reactor: _initialize first, arguments by type, results printed one a line', () => {
    const call = (...a: string[]) => cli(['run', '--invoke', a[0]!, REACTOR, ...a.slice(1)]);
    assert.deepEqual(call('add', '2', '0x10'), { code: 0, out: '18\n', err: '' });
    assert.equal(call('based', '5').out, '1005\n'); // the constructor ran in _initialize
    assert.equal(call('mul64', '-3000000000', '3').out, '-9000000000\n');
    assert.equal(call('halve', '3').out, '1.5\n');
    assert.equal(call('hypot2', '3', '4').out, '5\n');
    assert.equal(call('hello').out, 'hello from the reactor, base=1000\n');
    assert.equal(call('stop', '7').code, 7);
    const trap = call('crash');
    assert.equal(trap.code, 134);
    assert.match(trap.err, /wasm trap: wasm `unreachable` instruction executed/);
    assert.deepEqual(call('nope'), { code: 2, out: '', err: 'drawbridge run: no func export named `nope` found\n' });
    assert.equal(call('add', '1').err, 'drawbridge run: not enough arguments for `add`: it takes i32, i32\n');
    // Without --invoke a reactor is refused as before.
    assert.match(cli(['run', REACTOR]).err, /no _start export.*run --invoke/);
  });

  it('--invoke on a command calls the export instead of _start (main does not run)', () => {
    assert.deepEqual(cli(['--invoke', 'twice', COMMAND, '21']), { code: 0, out: '42\n', err: '' });
  });

  it('--argv0 and -S inherit-env (--env still wins)', () => {
    assert.equal(cli(['run', '--argv0', 'busybox', COMMAND, 'x']).out, 'argv[0]=busybox\nargv[1]=x\nenvc=0\n');
    const r = cli(['run', '-S', 'inherit-env', '--env', 'WT_B=mine', COMMAND, 'WT_'], { WT_A: 'one', WT_B: 'host' });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^env WT_A=one$/m);
    assert.match(r.out, /^env WT_B=mine$/m);
    const n = Number(/envc=(\d+)/.exec(r.out)![1]);
    assert.ok(n >= 3, r.out);
  });

  it('-W max-memory-size bounds memory.grow; --fuel and -W timeout end a spinning program (152)', () => {
    const small = cli(['run', '-W', 'max-memory-size=1048576', LIMITS, 'grow', '4']);
    assert.equal(small.code, 3);
    assert.match(small.out, /^out of memory after [01] MiB$/m);
    const big = cli(['run', '-W', 'max-memory-size=64_000_000', LIMITS, 'grow', '4']);
    assert.equal(big.code, 0, big.err);
    assert.match(big.out, /grew 4 MiB/);
    const fuel = cli(['run', '--fuel', '300000000', LIMITS, 'spin']);
    assert.equal(fuel.code, 152);
    assert.match(fuel.err, /^drawbridge: --fuel 300000000: drawbridge bounds CPU time, not instructions: limits\.cpu_time = 300 ms/);
    const timeout = cli(['run', '-W', 'timeout=300ms', LIMITS, 'spin']);
    assert.equal(timeout.code, 152);
    assert.match(timeout.err, /-W timeout=300ms: drawbridge bounds CPU time, not wall-clock time/);
  });

  it('-S inherit-network: listening and connecting anywhere, said on stderr; without it, refused', async () => {
    const denied = cli(['run', CLIENT, 'listen', '127.0.0.1', '0']);
    assert.equal(denied.out, 'listen: EPERM\n');
    const r = cli(['run', '-S', 'inherit-network', CLIENT, 'listen', '127.0.0.1', '0']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^listen: OK port=\d+\n$/);
    assert.match(
      r.err,
      /^drawbridge: -S inherit-network: granted connecting to any host and port \(\*:\*\) and listening on any address and port \(\*:\*\)\n$/,
    );
    // Connecting: to a server of this test (the guest's spawnSync would block it, so spawn).
    const server = net.createServer((s) => s.end('pong'));
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const out = await new Promise<string>((res) => {
        const c = spawn(process.execPath, [BIN, '-S', 'inherit-network', CLIENT, 'talk', '127.0.0.1', String(port), 'ping']);
        let text = '';
        c.stdout.on('data', (d: Buffer) => (text += d.toString()));
        c.on('close', () => res(text));
      });
      assert.match(out, /reply: pong/);
    } finally {
      server.close();
    }
  });

  it('--tcplisten and -S tcplisten pre-open a listener, as --listen', async () => {
    for (const flags of [
      ['--tcplisten', '127.0.0.1:0'],
      ['-S', 'tcplisten=127.0.0.1:0'],
    ]) {
      const child = spawn(process.execPath, [BIN, 'run', ...flags, SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const port = await new Promise<number>((res, rej) => {
          let out = '';
          const timer = setTimeout(() => rej(new Error(`no listener: ${out}`)), 30_000);
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /listening on [\d.]+:(\d+)/.exec(out);
            if (m) {
              clearTimeout(timer);
              res(Number(m[1]));
            }
          });
          child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        });
        const body = await new Promise<string>((res, rej) => {
          http
            .get(`http://127.0.0.1:${port}/`, (resp) => {
              let b = '';
              resp.on('data', (d: Buffer) => (b += d.toString()));
              resp.on('end', () => res(b));
            })
            .on('error', rej);
        });
        assert.equal(body, 'hello from drawbridge\n', flags.join(' '));
      } finally {
        child.kill('SIGTERM');
      }
    }
  });

  it('the rest is refused in one line, status 2', () => {
    const r = cli(['run', '-S', 'http', COMMAND]);
    assert.deepEqual(r, { code: 2, out: '', err: "drawbridge run: -S http: not supported; drawbridge's network grants are --listen/--connect\n" });
    const o = cli(['-O', 'opt-level=2', COMMAND]);
    assert.equal(o.code, 2);
    assert.equal(o.err.split('\n').length, 2);
  });
});
