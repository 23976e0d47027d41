import t from 'tap'
import { mergeFunctions, parseCallgrind } from '../../bench/callgrind-format.ts'

// the shape callgrind 3.19 writes with --separate-threads=yes: compressed names, a name first given by cfn=,
// and after each calls= line the call's inclusive cost, which is not the caller's self cost
const dump = `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 12320
cmd:  node floor.ts
part: 3
thread: 4

desc: Trigger: dump

positions: line
events: Ir
summary: 0


ob=(4) /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30
fl=(18) ???
fn=(7698) operator delete[](void*)
0 108
cfn=(3302) operator delete(void*)
calls=54 0 
0 7064
0 54

fn=(3302)
0 31048
cob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
cfi=(19) ./malloc/./malloc/malloc.c
cfn=(3306) free
calls=15524 3350 
0 1402476
0 15524

ob=(3)
fl=(19)
fn=(3306)
3350 1000000
+2 402476

ob=(1) ???
fl=(5) ???
fn=(15626) 0x000000000749e138
0 1534
* 6

totals: 1450750
`

t.test('self cost per function leaves out what the calls cost', async (t) => {
  const d = parseCallgrind(dump)
  t.equal(d.thread, 4)
  t.equal(d.total, 1450750)
  const self = Object.fromEntries(d.functions.map((f) => [f.name, f.self]))
  t.same(self, {
    'operator delete[](void*)': 108 + 54,
    'operator delete(void*)': 31048 + 15524,
    free: 1000000 + 402476,
    '0x000000000749e138': 1534 + 6,
  })
  t.equal(d.functions.reduce((s, f) => s + f.self, 0), d.total, 'the self costs add up to the totals line')
  t.equal(d.functions.find((f) => f.name === 'free')?.object, '/usr/lib/x86_64-linux-gnu/libc.so.6', 'ob=(3) named by an earlier cob=')
})

t.test('without a totals line the total is the sum of the self costs', async (t) => {
  const d = parseCallgrind(dump.replace(/^totals:.*$/m, ''))
  t.equal(d.total, 1450750)
})

t.test('threads\' dumps merge by function', async (t) => {
  const a = parseCallgrind(dump)
  const b = parseCallgrind(dump.replace('thread: 4', 'thread: 1'))
  const merged = mergeFunctions([a, b])
  t.equal(merged.length, a.functions.length)
  t.equal(merged.find((f) => f.name === 'free')?.self, 2 * 1402476)
  t.equal(a.functions.find((f) => f.name === 'free')?.self, 1402476, 'the inputs are left as they were')
})

t.test('a cost line before any function is refused', async (t) => {
  t.throws(() => parseCallgrind('events: Ir\n0 5\n'))
})
