// Where a function's instructions belong, for bench/instructions.ts's "where they go" tables: the part of the
// stack (V8's GC, its compilers, its builtins, Node's C++, libc…) or, for JIT code named from V8's perf map, the
// package, or for Switchyard's own code the source file, the JavaScript comes from.
import type { FunctionCost } from './callgrind-format.ts'

/** The object callgrind-run.ts gives a function it named from the perf map (JIT code). */
export const JIT_OBJECT = '(jit)'

export const GC_PART = 'V8 garbage collector'
export const COMPILER_PART = 'V8 compilers (TurboFan, Maglev)'
const GC = /Scaveng|Marking|MarkCompact|MinorMS|Sweep|Evacuat|RememberedSet|SlotSet|GCTracer|v8::internal::Heap::|HeapVisitor|WeakObjects|EphemeronHashTable::|ArrayBufferSweeper|ObjectVisitor/
const COMPILER = /v8::internal::(compiler|maglev|turboshaft|Zone\b|Compiler::|OptimizingCompile|OptimizedCompilationJob)/

export function categoryOf (f: FunctionCost): string {
  const { name, object } = f
  if (object === JIT_OBJECT) return jitCategory(name)
  if (/^0x[0-9a-f]+/i.test(name)) return 'JIT code, unnamed'
  if (name.startsWith('Builtins_')) return 'V8 builtins'
  if (GC.test(name)) return GC_PART
  if (COMPILER.test(name)) return COMPILER_PART
  if (/\bv8::|^v8_|\bV8_/.test(name)) return 'V8 runtime (C++)'
  if (/^llhttp_|^llhttp__/.test(name)) return 'llhttp (node:http\'s parser)'
  if (/^uv_|^uv__/.test(name)) return 'libuv'
  if (/\bnode::/.test(name)) return 'Node C++'
  if (/\/libc\.so/.test(object)) return 'libc'
  if (/\/libstdc\+\+\.so/.test(object)) return 'libstdc++'
  if (/\/ld-linux|\/ld\.so/.test(object)) return 'dynamic loader'
  return 'other native code'
}

function jitCategory (name: string): string {
  if (/^(Builtin|BytecodeHandler):/.test(name)) return 'V8 builtins'
  if (/^RegExp:/.test(name)) return 'regular expressions (JIT)'
  if (/^JS:wasm|wasm-function|wasm-to-js|js-to-wasm/.test(name)) return 'wasm (undici\'s llhttp)'
  if (!name.startsWith('JS:')) return 'other JIT code (stubs, IC handlers)'
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(name)
  if (pkg) return `JS ${pkg[1]}`
  if (/ node:/.test(name)) return 'JS Node internals (node:*)'
  const src = /\/(src\/[^ :]*\.ts):/.exec(name)
  if (src) return `JS ${src[1]}`
  if (/\/bench\/[^ ]*\.ts:/.test(name)) return 'JS bench/ (the floor\'s handler)'
  return 'JS other'
}

/** A name short enough for a table: JIT names lose their tier mark and their path up to node_modules/, src/ or bench/. */
export function shortName (f: FunctionCost): string {
  if (f.object !== JIT_OBJECT) return f.name.length > 110 ? `${f.name.slice(0, 107)}...` : f.name
  return f.name
    .replace(/^JS:[*+^~']*/, 'JS ')
    .replace(/ \S*\/node_modules\//, ' ')
    .replace(/ \S*\/(src|bench)\//, ' $1/')
}

/** Self cost per category, each divided by `requests`. */
export function byCategory (functions: readonly FunctionCost[], requests: number): Map<string, number> {
  const out = new Map<string, number>()
  for (const f of functions) {
    const c = categoryOf(f)
    out.set(c, (out.get(c) ?? 0) + f.self / requests)
  }
  return out
}
