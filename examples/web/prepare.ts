// Prepares the example's guest for checkpoints (Asyncify, as `drawbridge prepare` does) and
// writes the prepared module beside it: the page runs prepared modules, it does not prepare.
//   node_modules/.bin/node examples/web/prepare.ts [MODULE.wasm]   (default: examples/web/greeter.wasm)
import { readFileSync, writeFileSync } from 'node:fs';
import { prepareModule } from '../../src/runtime/prepare.ts';

const input = process.argv[2] ?? 'examples/web/greeter.wasm';
const output = input.replace(/\.wasm$/, '.prepared.wasm');
writeFileSync(output, await prepareModule(readFileSync(input)));
console.log(`prepared ${input} -> ${output}`);
