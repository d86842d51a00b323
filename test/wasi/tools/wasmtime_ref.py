# Records or checks a conformance spec against real wasmtime (the reference).
#
# Not part of `npm test` (it needs Python and the `wasmtime` wheel: `pip install
# wasmtime==49.*`). It runs build/guests/wasi/PROGRAM.wasm the way the runner does
# (argv[0] = PROGRAM.wasm, env, the root fixture copied to a temp dir and pre-opened
# as "/", stdin) and prints stdout and the exit status the wasmtime CLI would give:
# the status of proc_exit, 134 for a trap, 1 for any other host error.
#   python3 test/wasi/tools/wasmtime_ref.py NAME            show wasmtime's answer
#   python3 test/wasi/tools/wasmtime_ref.py NAME --write    store it in test/wasi/NAME.json
#   python3 test/wasi/tools/wasmtime_ref.py NAME --survey   CHECK_SURVEY=1: report every wrong errno, go on
# A new spec: write test/wasi/NAME.json with args/env/root (stdout "" and exit_code 0), then --write.
import json, os, shutil, sys, tempfile
from wasmtime import Engine, Store, Module, Linker, WasiConfig, ExitTrap, WasmtimeError, Trap
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
name = sys.argv[1]; write = '--write' in sys.argv
spec_path = f'{REPO}/test/wasi/{name}.json'
spec = json.load(open(spec_path)) if os.path.exists(spec_path) else {"args": [], "env": {}, "root": None, "exit_code": 0, "stdout": ""}
tmp = tempfile.mkdtemp()
root = os.path.join(tmp, 'root')
if spec.get('root'):
    shutil.copytree(os.path.join(REPO, 'test/wasi', spec['root']), root, symlinks=True)
else:
    os.mkdir(root)
engine = Engine(); linker = Linker(engine); linker.define_wasi()
store = Store(engine); cfg = WasiConfig()
cfg.argv = [name.split('.')[0] + '.wasm'] + spec.get('args', [])
cfg.env = list(spec.get('env', {}).items()) + ([('CHECK_SURVEY', '1')] if '--survey' in sys.argv else [])
cfg.preopen_dir(root, '/')
out = os.path.join(tmp, 'out'); err = os.path.join(tmp, 'err')
cfg.stdout_file = out; cfg.stderr_file = err
if 'stdin' in spec:
    open(os.path.join(tmp, 'in'), 'w').write(spec['stdin']); cfg.stdin_file = os.path.join(tmp, 'in')
store.set_wasi(cfg)
module = Module.from_file(engine, f"{REPO}/build/guests/wasi/{name.split('.')[0]}.wasm")
code = 0
try:
    inst = linker.instantiate(store, module)
    inst.exports(store)['_start'](store)
except ExitTrap as e:
    code = e.code
except Trap as e:
    print('TRAP (134):', str(e), file=sys.stderr); code = 134
except WasmtimeError as e:
    # wasmtime CLI: an error that is not a wasm trap ends main with Err: status 1.
    print('HOST ERROR (1):', str(e), file=sys.stderr); code = 1
stdout = open(out).read(); stderr = open(err).read()
print(stdout, end=''); print('--- exit', code, file=sys.stderr)
if stderr: print('--- stderr:', stderr, file=sys.stderr)
if write:
    spec['exit_code'] = code; spec['stdout'] = stdout
    if not os.path.exists(spec_path):
        spec = {"args": spec['args'], "env": spec['env'], "root": spec['root'], "exit_code": code, "stdout": stdout}
    json.dump(spec, open(spec_path, 'w'), indent=2); open(spec_path, 'a').write('\n')
shutil.rmtree(tmp)
