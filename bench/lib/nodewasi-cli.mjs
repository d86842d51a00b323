// The peer of `drawbridge run` as a whole process: node:wasi running a command module, the
// way a small CLI would. Plain JavaScript (not .ts) so that, like drawbridge's built CLI in
// dist/, it pays no type-stripping cost at start-up. argv[0] is the module path, as in
// `drawbridge run`.
// usage: node --single-threaded-gc bench/lib/nodewasi-cli.mjs [--dir HOST::GUEST]... MODULE.wasm [ARGS...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const argv = process.argv.slice(2);
const preopens = {};
while (argv[0] === '--dir') {
  const [host, guest] = argv[1].split('::');
  preopens[guest ?? host] = host;
  argv.splice(0, 2);
}
const wasi = new WASI({ version: 'preview1', args: argv, env: {}, preopens, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(argv[0]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exit(wasi.start(instance));
