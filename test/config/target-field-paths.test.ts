// A target's own fields are reported at their own paths, a wrong type as a wrong value: the target's shape (a
// string, an object with `dns`, one with `url`) decides which form checks it. Only a value of no shape at all is
// reported at the target itself.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { baseConfig, problemPaths, problemsOf } from './problems.ts'

const withTarget = (target: unknown): Record<string, unknown> => baseConfig({ pools: { a: { targets: [target] } } })
const T = 'pools.a.targets[0]'

t.test('a wrong-typed field of a URL target is reported at the field', async (t) => {
  const cases: [unknown, string[]][] = [
    [{ url: 'http://127.0.0.1:1', weight: '2' }, [`${T}.weight`]],
    [{ url: 'http://127.0.0.1:1', backup: 'yes' }, [`${T}.backup`]],
    [{ url: 42 }, [`${T}.url`]],
    [{ url: 'http://127.0.0.1:1', weight: '2', backup: 'yes' }, [`${T}.backup`, `${T}.weight`]],
  ]
  for (const [target, paths] of cases) t.strictSame(problemPaths(withTarget(target)).sort(), paths, JSON.stringify(target))
})

t.test('a wrong-typed or missing field of a DNS target is reported at the field', async (t) => {
  const cases: [unknown, string[]][] = [
    [{ dns: 'svc.example', port: '80' }, [`${T}.port`]],
    [{ dns: 'svc.example', port: 80, protocol: 'tcp' }, [`${T}.protocol`]],
    [{ dns: 'svc.example', port: 80, refreshMs: '5000' }, [`${T}.refreshMs`]],
    [{ dns: 'svc.example', port: 80, weight: '2', backup: 'yes' }, [`${T}.backup`, `${T}.weight`]],
    [{ dns: 5, port: 80 }, [`${T}.dns`]],
    [{ dns: 'svc.example' }, [`${T}.port`]],
  ]
  for (const [target, paths] of cases) t.strictSame(problemPaths(withTarget(target)).sort(), paths, JSON.stringify(target))
  t.match(problemsOf(withTarget({ dns: 'svc.example' })), [`${T}.port: is required`], 'a missing field is worded as one')
})

t.test('unknown fields and bad URL strings stay at the target', async (t) => {
  t.strictSame(problemPaths(withTarget({ url: 'http://127.0.0.1:1', zzz: 1 })), [T])
  t.strictSame(problemPaths(withTarget({ dns: 'svc.example', port: 80, url: 'http://127.0.0.1:1' })), [T])
  t.strictSame(problemPaths(withTarget('ftp://127.0.0.1')), [T])
})

t.test('a value of no target shape is reported once at the target, naming every form and field', async (t) => {
  for (const value of [42, null, true, [], {}, { weight: 2 }]) {
    const problems = problemsOf(withTarget(value))
    t.strictSame(problems.map((p) => p.slice(0, p.indexOf(': '))), [T], JSON.stringify(value))
    for (const field of ['url', 'weight', 'backup', 'dns', 'port', 'refreshMs', 'protocol']) t.match(problems[0], field, `names ${field}`)
  }
})

t.test('every form still parses, with its defaults', async (t) => {
  const config = validateConfig(baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1', { url: 'http://127.0.0.1:2', weight: 2 }, { dns: 'svc.example', port: 80 }] } } }))
  t.strictSame(config.pools.a!.targets, [{ url: 'http://127.0.0.1:1', weight: 1, backup: false }, { url: 'http://127.0.0.1:2', weight: 2, backup: false }])
  t.strictSame(config.pools.a!.discover, [{ dns: 'svc.example', port: 80, refreshMs: 5000, protocol: 'http', weight: 1, backup: false }])
})
