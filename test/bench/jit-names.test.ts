import t from 'tap'
import { jitNamer, parsePerfMap } from '../../bench/jit-names.ts'

const map = `1a27000 3f8 Builtin:DeoptimizationEntry_Eager
7f0000001000 100 JS:~onRequest /app/src/proxy/forward.ts:10:3
7f0000001000 80 JS:*onRequest /app/src/proxy/forward.ts:10:3
7f0000002000 40 RegExp.> src: '^a|b$' flags: ''
not a line
`

t.test('a perf map line is start, size and a name that may hold spaces', async (t) => {
  const ranges = parsePerfMap(map)
  t.equal(ranges.length, 4)
  t.same(ranges[3], { start: 0x7f0000002000, end: 0x7f0000002040, name: "RegExp.> src: '^a|b$' flags: ''" })
})

t.test('an address is named by the latest code covering it', async (t) => {
  const name = jitNamer(parsePerfMap(map))
  t.equal(name(0x1a27000), 'Builtin:DeoptimizationEntry_Eager')
  t.equal(name(0x1a273f7), 'Builtin:DeoptimizationEntry_Eager')
  t.equal(name(0x1a273f8), undefined, 'the end is outside')
  t.equal(name(0x7f0000001010), 'JS:*onRequest /app/src/proxy/forward.ts:10:3', 'the optimized code replaced the first at that address')
  t.equal(name(0x7f00000010a0), 'JS:~onRequest /app/src/proxy/forward.ts:10:3', 'only the older, longer code covers this one')
  t.equal(name(0x7f0000002020), "RegExp.> src: '^a|b$' flags: ''")
  t.equal(name(0x10), undefined)
})
