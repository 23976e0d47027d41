// The suite's processes (test/plan.ts): every test file is run, and run once, whether in a group or alone; a file
// named to run alone exists (a renamed one would otherwise join a group unnoticed).
import t from 'tap'
import { plan, SOLO, testFiles } from '../plan.ts'

t.test('every test file runs exactly once', async (t) => {
  const files = testFiles()
  t.ok(files.length > 400, `${files.length} test files found`)
  const { groups, solo } = plan(files)
  const runs = [...groups.values()].flat().concat(solo)
  t.same([...runs].sort(), files)
  t.same(Object.keys(SOLO).filter((file) => !files.includes(file)), [], 'every file SOLO names exists')
  t.same([...solo].sort(), Object.keys(SOLO).sort(), 'and runs alone')
})

t.test('a group holds files of one folder, dealt round-robin; the costliest groups first, those of a browser spread out', async (t) => {
  const files = Array.from({ length: 60 }, (_, i) => `proxy/f${String(i).padStart(2, '0')}.test.ts`)
    .concat(['unit/a.test.ts', 'dashboard/a.test.ts', 'dashboard/b.test.ts', 'dashboard/c.test.ts'])
  const { groups } = plan(files)
  t.same([...groups.keys()], ['1-dashboard-1', '2-proxy-1', '3-proxy-2', '4-dashboard-2', '5-proxy-3', '6-unit-1'], 'the costliest first, browsers spread out')
  t.same(groups.get('2-proxy-1')!.slice(0, 3), ['proxy/f00.test.ts', 'proxy/f03.test.ts', 'proxy/f06.test.ts'])
  t.same(groups.get('1-dashboard-1'), ['dashboard/a.test.ts', 'dashboard/c.test.ts'], 'two browser files to a process')
  t.same([...groups.values()].flat().sort(), [...files].sort())
})
