// The WebAssembly JS API as Node.js 24 provides it (TypeScript declares it only in lib.dom),
// including JS Promise Integration (JSPI): WebAssembly.Suspending and WebAssembly.promising.
declare namespace WebAssembly {
  type ImportValue = ExportValue | number | bigint;
  type ExportValue = ((...args: any[]) => any) | Global | Memory | Table;
  type Exports = Record<string, ExportValue>;
  type ModuleImports = Record<string, ImportValue>;
  type Imports = Record<string, ModuleImports>;
  type ValueType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'externref' | 'anyfunc' | 'funcref';
  type ImportExportKind = 'function' | 'global' | 'memory' | 'table' | 'tag';

  interface ModuleImportDescriptor {
    module: string;
    name: string;
    kind: ImportExportKind;
  }
  interface ModuleExportDescriptor {
    name: string;
    kind: ImportExportKind;
  }
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
    address?: 'i32' | 'i64';
  }
  interface GlobalDescriptor {
    value: ValueType;
    mutable?: boolean;
  }
  interface TableDescriptor {
    element: 'anyfunc' | 'externref';
    initial: number;
    maximum?: number;
  }
  interface WebAssemblyInstantiatedSource {
    module: Module;
    instance: Instance;
  }

  class Module {
    constructor(bytes: BufferSource);
    static imports(module: Module): ModuleImportDescriptor[];
    static exports(module: Module): ModuleExportDescriptor[];
    static customSections(module: Module, name: string): ArrayBuffer[];
  }
  class Instance {
    constructor(module: Module, imports?: Imports);
    readonly exports: Exports;
  }
  class Memory {
    constructor(descriptor: MemoryDescriptor);
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  class Global {
    constructor(descriptor: GlobalDescriptor, value?: unknown);
    value: any;
    valueOf(): any;
  }
  class Table {
    constructor(descriptor: TableDescriptor, value?: unknown);
    readonly length: number;
    get(index: number): any;
    set(index: number, value?: unknown): void;
    grow(delta: number, value?: unknown): number;
  }
  class CompileError extends Error {}
  class LinkError extends Error {}
  class RuntimeError extends Error {}
  /** JSPI: wraps an async JS function as an import that suspends the Wasm caller. */
  class Suspending {
    constructor(fn: (...args: any[]) => unknown);
  }
  /** JSPI: wraps an export so that it returns a Promise and may suspend. */
  function promising<F extends (...args: any[]) => any>(fn: F): (...args: Parameters<F>) => Promise<any>;

  type BufferSource = ArrayBuffer | ArrayBufferView;
  function compile(bytes: BufferSource): Promise<Module>;
  function validate(bytes: BufferSource): boolean;
  function instantiate(bytes: BufferSource, imports?: Imports): Promise<WebAssemblyInstantiatedSource>;
  function instantiate(module: Module, imports?: Imports): Promise<Instance>;
}
