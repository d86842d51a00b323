# Child process: runs a WASI command module under wasmtime (the `wasmtime` wheel from PyPI:
# Cranelift, wasmtime_wasi preview1, the same code as the wasmtime CLI) and reports its times,
# as child-drawbridge.ts and child-nodewasi.ts do: JSON on fd 3, stdout and stderr the guest's.
#
# usage: python3 bench/lib/wasmtime-runner.py SPEC_JSON
#   SPEC_JSON is a ChildSpec (bench/lib/child-spec.ts): module, args (argv[0] included), dirs
#   ([{host, guest}]), repeat; plus "aot": a file that holds the module's precompiled code.
#   With "aot", an existing file is loaded (Module.deserialize_file, what `wasmtime run` does
#   with a `wasmtime compile` output) and a missing one is compiled and written (then that
#   run's compile is a real compile). Without it, the module is compiled by Cranelift.
# Reported: compileMs (the compile, or the load of precompiled code), runMs per run (a new
# Store and WASI context, instantiate, _start), exitCodes, importMs (`import wasmtime`) and
# scriptMs (from the first line of this script to the report: Python's own start is the rest
# of the process's wall time, which the parent measures).
import time

t_script = time.perf_counter()
import json
import os
import sys

t = time.perf_counter()
from wasmtime import Engine, ExitTrap, Linker, Module, Store, Trap, WasiConfig, WasmtimeError

import_ms = (time.perf_counter() - t) * 1000
RESULT_FD = 3


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


spec = json.loads(sys.argv[1])
engine = Engine()
t = time.perf_counter()
aot = spec.get("aot")
if aot and os.path.exists(aot):
    module = Module.deserialize_file(engine, aot)
else:
    module = Module.from_file(engine, spec["module"])
    if aot:
        tmp = f"{aot}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(module.serialize())
        os.replace(tmp, aot)
compile_ms = ms_since(t)

linker = Linker(engine)
linker.define_wasi()
run_ms = []
exit_codes = []
for _ in range(spec.get("repeat", 1)):
    t = time.perf_counter()
    store = Store(engine)
    wasi = WasiConfig()
    wasi.argv = spec["args"]
    for d in spec.get("dirs", []):
        wasi.preopen_dir(d["host"], d["guest"])
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    store.set_wasi(wasi)
    code = 0
    try:
        instance = linker.instantiate(store, module)
        instance.exports(store)["_start"](store)
    except ExitTrap as e:
        code = e.code
    except Trap as e:
        # As the wasmtime CLI on Unix: a trap ends the process with 128 + SIGABRT.
        print(f"wasmtime: trap: {e}", file=sys.stderr)
        code = 134
    except WasmtimeError as e:
        print(f"wasmtime: {e}", file=sys.stderr)
        code = 1
    run_ms.append(ms_since(t))
    exit_codes.append(code)

result = {
    "compileMs": compile_ms,
    "runMs": run_ms,
    "exitCodes": exit_codes,
    "importMs": import_ms,
    "scriptMs": ms_since(t_script),
}
os.write(RESULT_FD, json.dumps(result).encode())
sys.stdout.flush()
os._exit(0)
