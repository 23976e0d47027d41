// The reload diff of a DNS-discovered target: its weight and backup flag are a target change (as a fixed target's
// are), what is looked up (name, port, protocol, refreshMs) a change of the pool's settings.
import t from 'tap'
import { diffConfigs, type ConfigDiff } from '../../src/config/diff.ts'
import { validateConfig } from '../../src/config/validate.ts'

const ID = 'p/dns:http://svc.example:80'
const configWith = (...discovered: Record<string, unknown>[]) => validateConfig({
  pools: { p: { targets: ['http://127.0.0.1:1', ...discovered] } },
  routes: [{ path: '/', pool: 'p' }],
})
const base = { dns: 'svc.example', port: 80, refreshMs: 5000 }
const diffTo = (...discovered: Record<string, unknown>[]): ConfigDiff => diffConfigs(configWith(base), configWith(...discovered))
const none = { added: [], removed: [], changed: [] }

t.test('a weight or backup change is a target change, not a pool change', async (t) => {
  for (const change of [{ weight: 2 }, { backup: true }]) {
    const diff = diffTo({ ...base, ...change })
    t.strictSame(diff.pools, none, JSON.stringify(change))
    t.strictSame(diff.targets, { ...none, changed: [ID] }, JSON.stringify(change))
  }
  t.ok(diffTo(base).identical, 'nothing changed')
})

t.test('what is looked up is a pool setting; a new name, port or protocol is another target', async (t) => {
  const refreshed = diffTo({ ...base, refreshMs: 1000 })
  t.strictSame([refreshed.pools, refreshed.targets], [{ ...none, changed: ['p'] }, none], 'refreshMs')
  const cases: [Record<string, unknown>, string][] = [
    [{ port: 81 }, 'p/dns:http://svc.example:81'],
    [{ protocol: 'https' }, 'p/dns:https://svc.example:80'],
    [{ dns: 'other.example' }, 'p/dns:http://other.example:80'],
  ]
  for (const [change, id] of cases) {
    const diff = diffTo({ ...base, ...change })
    t.strictSame(diff.pools, { ...none, changed: ['p'] }, JSON.stringify(change))
    t.strictSame(diff.targets, { added: [id], removed: [ID], changed: [] }, JSON.stringify(change))
  }
})

t.test('a name listed twice is two targets', async (t) => {
  const diff = diffTo(base, { ...base, weight: 2 })
  t.strictSame(diff.targets, { ...none, added: [`${ID}#2`] })
})

t.test('a name respelled (case, a root dot) is the same lookup: neither the pool nor the target changed', async (t) => {
  for (const dns of ['SVC.Example', 'svc.example.', 'Svc.EXAMPLE.']) {
    const diff = diffTo({ ...base, dns })
    t.strictSame([diff.pools, diff.targets], [none, none], dns)
  }
})
