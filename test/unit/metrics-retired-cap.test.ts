// Retired (route, pool) bindings go only at a render, and metrics are on with nobody scraping: a route renamed at
// every reload would keep each old pair for good. At most MAX_RETIRED are kept: a retire past it detaches the oldest
// idle ones at once (retire order); a busy one is never detached early, the cap exceeded then (bounded by the requests
// in flight). src/metrics/retired.ts.
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { MAX_RETIRED, RetiredBindings } from '../../src/metrics/retired.ts'
import type { RouteBinding } from '../../src/metrics/route.ts'

/** A binding as RetiredBindings sees it: its pair, whether busy, and whether detached. */
interface Stub { route: string, pool: string, busy: boolean, detached: boolean, detach (): void }
const stub = (route: string): Stub => ({ route, pool: 'p', busy: false, detached: false, detach () { this.detached = true } })

// Steps: 'retire a' (idle), 'retire a*' (busy), 'idle a' (its last request counted), 'take a', 'settle' (a render).
const cases: { name: string, max: number, steps: string[], detached: string[], kept: string[] }[] = [
  { name: 'under the cap: none goes before a render', max: 3, steps: ['retire a', 'retire b', 'retire c'], detached: [], kept: ['a', 'b', 'c'] },
  { name: 'past the cap: the oldest idle goes at once', max: 3, steps: ['retire a', 'retire b', 'retire c', 'retire d'], detached: ['a'], kept: ['b', 'c', 'd'] },
  { name: 'busy ones are passed over', max: 3, steps: ['retire a*', 'retire b*', 'retire c', 'retire d'], detached: ['c'], kept: ['a', 'b', 'd'] },
  { name: 'all busy: the cap is exceeded', max: 3, steps: ['retire a*', 'retire b*', 'retire c*', 'retire d*'], detached: [], kept: ['a', 'b', 'c', 'd'] },
  {
    name: 'over the cap while busy: idle ones go, oldest first, down to it',
    max: 3,
    steps: ['retire a*', 'retire b*', 'retire c*', 'retire d*', 'idle a', 'idle c', 'retire e'],
    detached: ['a', 'c'],
    kept: ['b', 'd', 'e'],
  },
  { name: 'the newest goes when it is the only idle one', max: 2, steps: ['retire a*', 'retire b*', 'retire c'], detached: ['c'], kept: ['a', 'b'] },
  { name: 'a pair retired again is the newest', max: 3, steps: ['retire a', 'retire b', 'retire c', 'take a', 'retire a', 'retire d'], detached: ['b'], kept: ['c', 'a', 'd'] },
  { name: 'taken back: no longer retired, never detached', max: 1, steps: ['retire a', 'take a', 'retire b', 'retire c'], detached: ['b'], kept: ['c'] },
  { name: 'a render takes the idle ones, keeps the busy', max: 3, steps: ['retire a', 'retire b*', 'retire c', 'settle'], detached: ['a', 'c'], kept: ['b'] },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    const retired = new RetiredBindings(c.max)
    const stubs = new Map<string, Stub>()
    const kept = new Set<string>()
    for (const step of c.steps) {
      const [op, arg = ''] = step.split(' ')
      const name = arg.replace('*', '')
      const b = stubs.get(name) ?? stubs.set(name, stub(name)).get(name)!
      if (op === 'retire') {
        b.busy = arg.endsWith('*')
        retired.retire(b as unknown as RouteBinding)
      } else if (op === 'idle') b.busy = false
      else if (op === 'take') t.equal(retired.take(name, 'p'), b, `take ${name}: the retired binding`)
      else retired.settle(retired.idle())
    }
    t.strictSame([...stubs.values()].filter((b) => b.detached).map((b) => b.route), c.detached, 'detached')
    for (const b of stubs.values()) if (!b.detached && retired.take(b.route, 'p') === (b as unknown as RouteBinding)) kept.add(b.route)
    t.strictSame([...kept].sort(), [...c.kept].sort(), 'still retired')
    t.equal(retired.size, 0, 'nothing else retired')
  })
}

t.test(`GatewayMetrics: a route renamed at every reload, never scraped, keeps at most ${MAX_RETIRED} old pairs`, async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const requestLines = async (): Promise<string[]> => (await m.render()).split('\n').filter((l) => l.startsWith('switchyard_requests_total{'))
  for (let i = 0; i < MAX_RETIRED + 5; i++) {
    const b = m.route(`api${i}`, 'p')
    b.begin()
    b.request('GET', 200, 0.01)
    m.forgetRoute(`api${i}`)
  }
  const first = await requestLines()
  t.equal(first.length, MAX_RETIRED, 'the cap\'s worth, shown at the first render')
  t.notOk(first.some((l) => /route="api[0-4]"/.test(l)), 'the five oldest went at once')
  t.ok(first.some((l) => l.includes(`route="api${MAX_RETIRED + 4}"`)), 'the newest kept')
  t.strictSame(await requestLines(), [], 'all gone at the second')
})

t.test('GatewayMetrics: busy retired pairs are never detached early, past the cap', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const held: ReturnType<GatewayMetrics['route']>[] = []
  for (let i = 0; i < MAX_RETIRED + 1; i++) {
    const b = m.route(`api${i}`, 'p')
    b.begin()
    held.push(b)
    m.forgetRoute(`api${i}`)
  }
  for (const b of held) b.request('GET', 200, 0.01)
  t.equal((await m.render()).split('\n').filter((l) => l.startsWith('switchyard_requests_total{')).length, MAX_RETIRED + 1, 'every request in flight counted')
})
