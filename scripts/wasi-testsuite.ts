// Measures drawbridge against the official WASI test suite (github.com/WebAssembly/wasi-testsuite),
// as an outside yardstick next to our own conformance tests.
//
//   node scripts/wasi-testsuite.ts CHECKOUT [--only NAME,...] [--verbose]
//
// CHECKOUT is a local clone of wasi-testsuite. The script
//   1. compiles tests/c/src/*.c (and tests/c/src/wasm32-wasip1/*.c) with
//      `clang --target=wasm32-wasi -O2 SRC -lm` into a temporary folder, next to each test's
//      .json spec and the fixture folders that spec names (as the suite's tests/c/build.py does);
//   2. also picks up the prebuilt suites where the checkout has them
//      (tests/{rust,assemblyscript}/testsuite[/wasm32-wasip1]/*.wasm): we cannot build those here;
//   3. runs every test through `drawbridge run` in a child process, as the suite's runner runs
//      `wasmtime` (adapters/wasmtime.py): `--env K=V`, `--dir HOSTDIR::NAME` for each spec dir
//      (a fresh copy of the fixture per test), then the module and the spec's args;
//   4. checks what the runner checks: the exit code (spec "exit_code", default 0), and that
//      stdout/stderr begin with the spec's "stdout"/"stderr" (the runner reads that many
//      characters from the stream and compares).
// It prints PASS/FAIL/SKIP per test and a total per suite. Exit status 0 when nothing failed.
// The suite's code is never copied into this repository: it is read from CHECKOUT at run time.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI_MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TIMEOUT_MS = 20_000;

/** One test: a module, its spec (parsed .json or {}), and the folder its fixture dirs live in. */
interface TestCase {
  suite: string;
  name: string;
  wasm: string;
  spec: Spec;
  fixtureBase: string;
}

/** The legacy spec keys (args, env, dirs, exit_code, stdout, stderr), plus the newer "root" and
 *  "operations" forms. */
interface Spec {
  args?: string[];
  env?: Record<string, string>;
  dirs?: string[];
  root?: string;
  exit_code?: number;
  stdout?: string;
  stderr?: string;
  operations?: { type: string; args?: string[]; env?: Record<string, string>; dirs?: string[]; id?: string; payload?: string; exit_code?: number }[];
}

interface Outcome {
  verdict: 'PASS' | 'FAIL' | 'SKIP';
  why?: string;
}

function listFiles(dir: string, ext: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext) && statSync(join(dir, f)).isFile())
      .sort()
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

function readSpec(path: string): Spec {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Spec) : {};
}

/** Compiles the C tests; a source that does not compile is reported as a failure of that test. */
function buildCSuite(checkout: string, out: string): { cases: TestCase[]; buildFailures: Map<string, string> } {
  const srcDirs = [join(checkout, 'tests', 'c', 'src'), join(checkout, 'tests', 'c', 'src', 'wasm32-wasip1')];
  const cases: TestCase[] = [];
  const buildFailures = new Map<string, string>();
  for (const dir of srcDirs) {
    for (const src of listFiles(dir, '.c')) {
      const name = basename(src, '.c');
      const wasm = join(out, name + '.wasm');
      const r = spawnSync('clang', ['--target=wasm32-wasi', '-O2', src, '-o', wasm, '-lm'], { encoding: 'utf8' });
      if (r.status !== 0) {
        buildFailures.set(name, (r.error?.message ?? r.stderr).trim().split('\n')[0] ?? 'clang failed');
        continue;
      }
      cases.push({ suite: 'c', name, wasm, spec: readSpec(src.replace(/\.c$/, '.json')), fixtureBase: dir });
    }
  }
  return { cases, buildFailures };
}

/** Prebuilt modules shipped in a checkout (tests/SUITE/testsuite/wasm32-wasip1 or tests/SUITE/testsuite). */
function prebuiltSuite(checkout: string, suite: string): TestCase[] {
  for (const dir of [join(checkout, 'tests', suite, 'testsuite', 'wasm32-wasip1'), join(checkout, 'tests', suite, 'testsuite')]) {
    const wasms = listFiles(dir, '.wasm');
    if (wasms.length) {
      return wasms.map((wasm) => ({ suite, name: basename(wasm, '.wasm'), wasm, spec: readSpec(wasm.replace(/\.wasm$/, '.json')), fixtureBase: dir }));
    }
  }
  return [];
}

/** Turns a spec into one run: the argv, env, dirs and expectations (or a reason to skip). */
function planOf(
  spec: Spec,
): { args: string[]; env: Record<string, string>; dirs: string[]; root?: string; exitCode: number; stdout?: string; stderr?: string } | string {
  if (!spec.operations) {
    return {
      args: spec.args ?? [],
      env: spec.env ?? {},
      dirs: spec.dirs ?? [],
      root: spec.root,
      exitCode: spec.exit_code ?? 0,
      stdout: spec.stdout,
      stderr: spec.stderr,
    };
  }
  const kinds = spec.operations.map((o) => o.type);
  if (kinds.some((k) => k !== 'run' && k !== 'read' && k !== 'wait') || kinds.filter((k) => k === 'run').length !== 1) {
    return `operations ${kinds.join(',')} need sockets or several runs (not supported by this script)`;
  }
  const run = spec.operations.find((o) => o.type === 'run')!;
  const wait = spec.operations.find((o) => o.type === 'wait');
  const reads = spec.operations.filter((o) => o.type === 'read');
  const concat = (id: string) => {
    const parts = reads.filter((r) => (r.id ?? 'stdout') === id).map((r) => r.payload ?? '');
    return parts.length ? parts.join('') : undefined;
  };
  return { args: run.args ?? [], env: run.env ?? {}, dirs: run.dirs ?? [], exitCode: wait?.exit_code ?? 0, stdout: concat('stdout'), stderr: concat('stderr') };
}

function runOne(t: TestCase): Outcome {
  const plan = planOf(t.spec);
  if (typeof plan === 'string') return { verdict: 'SKIP', why: plan };
  const scratch = mkdtempSync(join(tmpdir(), 'wasi-testsuite-'));
  try {
    const cli: string[] = [];
    for (const [k, v] of Object.entries(plan.env)) cli.push('--env', `${k}=${v}`);
    // A fresh copy of each fixture dir, so a test that writes cannot affect the next.
    const mounts = plan.dirs.map((d) => ({ name: d, guest: d }));
    if (plan.root) mounts.push({ name: plan.root, guest: '/' });
    for (const m of mounts) {
      const host = join(scratch, m.name);
      cpSync(join(t.fixtureBase, m.name), host, { recursive: true });
      cli.push('--dir', `${host}::${m.guest}`);
    }
    const argv = [
      '--input-type=module',
      '-e',
      `import { main } from ${JSON.stringify(CLI_MAIN)}; process.exit(await main(process.argv.slice(1)));`,
      'run',
      ...cli,
      '--',
      t.wasm,
      ...plan.args,
    ];
    const r = spawnSync(process.execPath, argv, { cwd: scratch, input: '', timeout: TIMEOUT_MS, maxBuffer: 64 << 20 });
    if (r.error || r.status === null) return { verdict: 'FAIL', why: r.error?.message ?? `killed by ${r.signal} (timeout ${TIMEOUT_MS} ms?)` };
    const problems: string[] = [];
    const stdout = r.stdout.toString('utf8');
    const stderr = r.stderr.toString('utf8');
    if (r.status !== plan.exitCode) problems.push(`exit code ${r.status}, expected ${plan.exitCode}`);
    if (plan.stdout !== undefined && stdout.slice(0, plan.stdout.length) !== plan.stdout)
      problems.push(`stdout ${JSON.stringify(stdout.slice(0, 200))}, expected ${JSON.stringify(plan.stdout)}`);
    if (plan.stderr !== undefined && stderr.slice(0, plan.stderr.length) !== plan.stderr)
      problems.push(`stderr ${JSON.stringify(stderr.slice(0, 200))}, expected ${JSON.stringify(plan.stderr)}`);
    if (problems.length && stderr) problems.push(`stderr: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    return problems.length ? { verdict: 'FAIL', why: problems.join('; ') } : { verdict: 'PASS' };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  const checkout = argv.find((a) => !a.startsWith('--'));
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',')) : null;
  const verbose = argv.includes('--verbose');
  if (!checkout || !existsSync(join(checkout, 'tests'))) {
    process.stderr.write('usage: node scripts/wasi-testsuite.ts WASI_TESTSUITE_CHECKOUT [--only NAME,...] [--verbose]\n');
    return 2;
  }
  const out = mkdtempSync(join(tmpdir(), 'wasi-testsuite-build-'));
  try {
    const { cases: cCases, buildFailures } = buildCSuite(checkout, out);
    const cases = [...cCases, ...prebuiltSuite(checkout, 'rust'), ...prebuiltSuite(checkout, 'assemblyscript')];
    const totals = new Map<string, { pass: number; fail: number; skip: number }>();
    const tally = (suite: string, v: Outcome['verdict']) => {
      const s = totals.get(suite) ?? { pass: 0, fail: 0, skip: 0 };
      if (v === 'PASS') s.pass++;
      else if (v === 'FAIL') s.fail++;
      else s.skip++;
      totals.set(suite, s);
    };
    for (const [name, why] of buildFailures) {
      if (only && !only.has(name)) continue;
      console.log(`FAIL c/${name}: does not compile: ${why}`);
      tally('c', 'FAIL');
    }
    for (const t of cases) {
      if (only && !only.has(t.name)) continue;
      const o = runOne(t);
      tally(t.suite, o.verdict);
      console.log(`${o.verdict} ${t.suite}/${t.name}${o.why && (o.verdict !== 'PASS' || verbose) ? ': ' + o.why : ''}`);
    }
    let failed = 0;
    for (const [suite, s] of totals) {
      console.log(`${suite}: ${s.pass}/${s.pass + s.fail + s.skip} passed${s.fail ? `, ${s.fail} failed` : ''}${s.skip ? `, ${s.skip} skipped` : ''}`);
      failed += s.fail;
    }
    const all = [...totals.values()].reduce((a, s) => ({ pass: a.pass + s.pass, n: a.n + s.pass + s.fail + s.skip }), { pass: 0, n: 0 });
    console.log(`total: ${all.pass}/${all.n} passed`);
    return failed ? 1 : 0;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

process.exitCode = main(process.argv.slice(2));
