import t from 'tap'
import { byCategory, categoryOf, JIT_OBJECT, shortName } from '../../bench/instruction-categories.ts'

const node = '/work/main/node_modules/node/bin/node'
const fn = (name: string, object = node, self = 1) => ({ name, object, self })

t.test('native functions go to the part of the stack they belong to', async (t) => {
  t.equal(categoryOf(fn('Builtins_LoadIC')), 'V8 builtins')
  t.equal(categoryOf(fn('void v8::internal::MarkingVisitorBase<v8::internal::ConcurrentMarkingVisitor>::ProcessStrongHeapObject(int)')), 'V8 garbage collector')
  t.equal(categoryOf(fn('v8::internal::ScavengerCollector::CollectGarbage()')), 'V8 garbage collector')
  t.equal(categoryOf(fn('v8::internal::compiler::GraphReducer::ReduceTop()')), 'V8 compilers (TurboFan, Maglev)')
  t.equal(categoryOf(fn('v8::internal::LookupIterator::State v8::internal::LookupIterator::LookupInRegularHolder<true>()')), 'V8 runtime (C++)')
  t.equal(categoryOf(fn('node::Buffer::(anonymous namespace)::StringSlice()')), 'Node C++')
  t.equal(categoryOf(fn('uv__io_poll')), 'libuv')
  t.equal(categoryOf(fn('llhttp__internal__run')), 'llhttp (node:http\'s parser)')
  t.equal(categoryOf(fn('__memmove_avx_unaligned_erms', '/usr/lib/x86_64-linux-gnu/libc.so.6')), 'libc')
  t.equal(categoryOf(fn('0x00000000280e1300', '???')), 'JIT code, unnamed')
})

t.test('JIT code named from the perf map goes to its package, or its file under src/', async (t) => {
  const jit = (name: string) => categoryOf(fn(name, JIT_OBJECT))
  t.equal(jit('JS:*parseHeaders /work/main/node_modules/undici/lib/core/util.js:449:23'), 'JS undici')
  t.equal(jit('JS:*fire /x/node_modules/@fastify/proxy-addr/index.js:1:1'), 'JS @fastify/proxy-addr')
  t.equal(jit('JS:*nextTick node:internal/process/task_queues:113:18'), 'JS Node internals (node:*)')
  t.equal(jit('JS:+forward /work/wt/instr/src/proxy/forward.ts:40:3'), 'JS src/proxy/forward.ts', 'Switchyard\'s own code by file')
  t.equal(jit('JS:*onResponseStart /work/wt/instr/bench/floor.ts:30:18'), 'JS bench/ (the floor\'s handler)')
  t.equal(jit('JS:wasm-function[20]-20-turbofan'), 'wasm (undici\'s llhttp)')
  t.equal(jit('Builtin:RecordWriteSaveFP'), 'V8 builtins')
  t.equal(jit("RegExp.> src: '^a$' flags: ''"), 'other JIT code (stubs, IC handlers)')
})

t.test('short names drop the tier mark and the path before the package or tree', async (t) => {
  t.equal(shortName(fn('JS:*parseHeaders /work/main/node_modules/undici/lib/core/util.js:449:23', JIT_OBJECT)), 'JS parseHeaders undici/lib/core/util.js:449:23')
  t.equal(shortName(fn('JS:+forward /work/wt/instr/src/proxy/forward.ts:40:3', JIT_OBJECT)), 'JS forward src/proxy/forward.ts:40:3')
})

t.test('self costs add up per category, per request', async (t) => {
  const m = byCategory([fn('Builtins_LoadIC', node, 300), fn('Builtins_StringAdd', node, 100), fn('uv_run', node, 40)], 4)
  t.same([...m], [['V8 builtins', 100], ['libuv', 10]])
})
