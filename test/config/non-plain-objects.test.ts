// A settings object written as a Map, Set, Date or typed array was read as {} (the schema reads own enumerable keys,
// of which they have none, or only indices): its values were ignored without a word and the defaults ran.
import t from 'tap'
import { baseConfig, problemsOf } from './problems.ts'

const target = 'http://127.0.0.1:1'
/** baseConfig with pool a's fields (targets kept) extended by `extra`. */
const withPool = (extra: Record<string, unknown>): Record<string, unknown> => baseConfig({ pools: { a: { targets: [target], ...extra } } })
const withRoute = (extra: Record<string, unknown>): Record<string, unknown> => baseConfig({ routes: [{ path: '/a', pool: 'a', ...extra }] })

const values: Array<[string, () => object]> = [
  ['Map', () => new Map<string, number>([['requestMs', 500], ['bogus', 1]])],
  ['Set', () => new Set(['requestMs'])],
  ['Date', () => new Date(0)],
  ['Uint8Array', () => new Uint8Array([1, 2])],
]

const places: Array<[string, (v: object) => unknown]> = [
  ['pools.a.timeouts', (v) => withPool({ timeouts: v })],
  ['pools.a.retry.backoff', (v) => withPool({ retry: { backoff: v } })],
  ['pools.a.healthCheck', (v) => withPool({ healthCheck: v })],
  ['pools.a', (v) => baseConfig({ pools: { a: v } })],
  ['server', (v) => baseConfig({ server: v })],
  ['routes[0]', (v) => baseConfig({ routes: [v] })],
  ['routes[0].canary', (v) => withRoute({ canary: v })],
  ['routes[0].canary.rollback', (v) => withRoute({ canary: { pool: 'b', weight: 10, rollback: v } })],
]

for (const [tag, make] of values) {
  for (const [path, config] of places) {
    t.test(`a ${tag} at ${path} is one problem at its path`, async (t) => {
      const problems = problemsOf(config(make()))
      // pools.a given as a non-plain object leaves route a's pool unknown (a problem of its own, the same as today)
      t.strictSame(problems.filter((p) => !p.startsWith('routes[0].pool:')), [`${path}: must be a plain object, got ${tag}`])
    })
  }
}

t.test('the config itself as a Map is refused', async (t) => {
  t.strictSame(problemsOf(new Map(Object.entries(baseConfig()))), ['must be a plain object, got Map'])
})

t.test('a cycle through plain objects is walked once', async (t) => {
  const timeouts: Record<string, unknown> = { requestMs: 500 }
  timeouts.self = timeouts
  t.strictSame(problemsOf(withPool({ timeouts })), ["pools.a.timeouts: unknown field 'self'"])
})

t.test('where the schema wants no object, its own word stands', async (t) => {
  t.strictSame(problemsOf(withPool({ targets: new Set([target]) })), ['pools.a.targets: Invalid input: expected array, received Set'])
  t.strictSame(problemsOf(baseConfig({ secret: new Date(0) })), ['secret: Invalid input: expected string, received Date'])
  t.strictSame(problemsOf(withPool({ bogus: new Map() })), ["pools.a: unknown field 'bogus'"])
  // a target may be a string too: the schema's sentence lists every shape it takes
  const [targetProblem, ...moreTarget] = problemsOf(withPool({ targets: [new Map()] }))
  t.match(targetProblem, /^pools\.a\.targets\[0\]: must be a URL string, /)
  t.strictSame(moreTarget, [])
  const [balancerProblem, ...moreBalancer] = problemsOf(withPool({ balancer: new Date(0) }))
  t.match(balancerProblem, /^pools\.a\.balancer: must be 'round-robin', /)
  t.strictSame(moreBalancer, [])
})

t.test('class instances and null-prototype objects are still read by their own fields', async (t) => {
  class Timeouts { requestMs = 500 }
  const bare = Object.assign(Object.create(null) as object, { requestMs: 500 })
  t.strictSame(problemsOf(withPool({ timeouts: new Timeouts() })), [])
  t.strictSame(problemsOf(withPool({ timeouts: bare })), [])
  t.strictSame(problemsOf(withPool({ timeouts: Object.assign(Object.create(null) as object, { bogus: 1 }) })), ["pools.a.timeouts: unknown field 'bogus'"])
  class Server { host = '127.0.0.1'; port = 0 }
  t.strictSame(problemsOf(baseConfig({ server: new Server() })), [])
})

// - a Map at a known field is refused though its object also has an unknown field: the schema's "unknown field"
//   issue is about that field, not about the whole object;
// - an object shared at two places is walked once: a Map in it is one problem, at the first place.
t.test('non-plain-edges', async (t) => {
  const target = 'http://127.0.0.1:1'

  t.test('a Map beside an unknown field is still refused at its own path', async (t) => {
    const problems = problemsOf(baseConfig({ pools: { a: { targets: [target], timeouts: new Map([['requestMs', 500]]), bogus: 1 } } }))
    t.strictSame([...problems].sort(), ['pools.a.timeouts: must be a plain object, got Map', "pools.a: unknown field 'bogus'"])
  })

  t.test('an object shared by two pools is walked once', async (t) => {
    const retry = { backoff: new Map() }
    const problems = problemsOf(baseConfig({ pools: { a: { targets: [target], retry }, b: { targets: ['http://127.0.0.1:2'], retry } } }))
    t.strictSame(problems, ['pools.a.retry.backoff: must be a plain object, got Map'])
  })
})
