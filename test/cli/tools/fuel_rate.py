# How much of wasmtime's fuel one nanosecond of CPU stands for, on this machine: runs
# build/guests/cli/fuel_loop.wasm N rounds under wasmtime 49 (the Python wheel) with fuel
# metering on, and prints the fuel it burned and the CPU time it took. docs/wasmtime.md
# ("Fuel and timeouts") compares it with drawbridge's CPU time for the same N.
# Not part of `npm test` (it needs Python and `pip install wasmtime==49.*`).
#   python3 test/cli/tools/fuel_rate.py [N]
import os, sys, time
from wasmtime import Config, Engine, Linker, Module, Store, WasiConfig
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
n = sys.argv[1] if len(sys.argv) > 1 else '1600000000'
config = Config()
config.consume_fuel = True
engine = Engine(config)
store = Store(engine)
store.set_fuel(10**15)
wasi = WasiConfig()
wasi.argv = ['fuel_loop.wasm', n]
store.set_wasi(wasi)
linker = Linker(engine)
linker.define_wasi()
instance = linker.instantiate(store, Module.from_file(engine, f'{REPO}/build/guests/cli/fuel_loop.wasm'))
start = time.process_time()
try:
    instance.exports(store)['_start'](store)
except Exception:
    pass  # proc_exit(0) ends _start with an exit trap
cpu = time.process_time() - start
fuel = 10**15 - store.get_fuel()
print(f'N={n} fuel={fuel} cpu_ms={cpu * 1000:.0f} fuel_per_ns={fuel / cpu / 1e9:.2f}')
