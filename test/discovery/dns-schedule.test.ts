// The refresh schedule, driven by injected timers so nothing waits for refreshMs: a lookup at start, the
// next one refreshMs after it ends, never two at once, nothing after stop().
import t, { type Test } from 'tap'
import { type DiscoveryTimers, DnsDiscovery } from '../../src/discovery/dns.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'orders.default.svc.cluster.local'

/** Timers that fire only when the test says so. */
class ManualTimers implements DiscoveryTimers {
  readonly pending = new Map<number, { callback: () => void; ms: number }>()
  #nextId = 1

  set (callback: () => void, ms: number): number {
    const id = this.#nextId++
    this.pending.set(id, { callback, ms })
    return id
  }

  clear (handle: unknown): void { this.pending.delete(handle as number) }

  delays (): number[] { return [...this.pending.values()].map((p) => p.ms) }

  /** Fires the one pending timer. */
  fire (): void {
    if (this.pending.size !== 1) throw new Error(`expected one pending timer, found ${this.pending.size}`)
    const [[id, { callback }]] = this.pending
    this.pending.delete(id)
    callback()
  }
}

async function setup (t: Test) {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  server.set(NAME, { a: ['10.1.0.1'] })
  const timers = new ManualTimers()
  const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1, timers })
  t.teardown(() => d.stop())
  const lookups = (): number => server.count(NAME, 'A')
  return { server, timers, d, lookups }
}

t.test('start looks up at once, then refreshMs after each lookup ends', async (t) => {
  const { server, timers, d, lookups } = await setup(t)
  t.same(timers.delays(), [], 'nothing scheduled before start')
  await d.start()
  t.equal(lookups(), 1)
  t.same(d.urls, ['http://10.1.0.1:9000'])
  t.same(timers.delays(), [5000])

  server.set(NAME, { a: ['10.1.0.2'] })
  timers.fire()
  await d.refresh() // joins the lookup the timer started
  t.equal(lookups(), 2, 'the timer started a lookup; refresh joined it')
  t.same(d.urls, ['http://10.1.0.2:9000'])
  t.same(timers.delays(), [5000], 'the next one is scheduled')

  await d.start()
  t.equal(lookups(), 2, 'a second start neither looks up nor schedules again')
  t.same(timers.delays(), [5000])
})

t.test('a slow lookup is never overlapped: refresh joins it and the next is scheduled only once it ends', async (t) => {
  const { server, timers, d, lookups } = await setup(t)
  server.mode = 'hang'
  const started = d.start()
  const joined = d.refresh()
  t.equal(joined, d.refresh(), 'the same lookup')
  t.same(timers.delays(), [], 'no timer while the lookup runs')
  await Promise.all([started, joined])
  t.equal(lookups(), 1, 'one query, however often refresh was called')
  t.equal(d.lastError?.code, 'ETIMEOUT')
  t.same(timers.delays(), [5000])
})

t.test('a failed lookup keeps the schedule going', async (t) => {
  const { server, timers, d, lookups } = await setup(t)
  server.mode = 'servfail'
  await d.start()
  t.equal(d.lastError?.code, 'ESERVFAIL')
  t.same(timers.delays(), [5000])
  server.mode = 'answer'
  timers.fire()
  await d.refresh()
  t.equal(lookups(), 2)
  t.same(d.urls, ['http://10.1.0.1:9000'])
})

t.test('stop clears the timer: no lookups and no events after it', async (t) => {
  const { server, timers, d, lookups } = await setup(t)
  await d.start()
  const events: string[] = []
  d.on('change', () => events.push('change'))
  d.on('lookupError', () => events.push('lookupError'))
  d.stop()
  t.same(timers.delays(), [], 'pending refresh cleared')
  server.set(NAME, { a: ['10.1.0.9'] })
  await d.refresh()
  await d.start()
  t.equal(lookups(), 1, 'no lookup after stop')
  t.same(timers.delays(), [])
  t.same(d.urls, ['http://10.1.0.1:9000'], 'the last set stays readable')
  t.same(events, [])
})

t.test('stop during a lookup: its answer is dropped and nothing is scheduled', async (t) => {
  const { server, timers, d } = await setup(t)
  server.mode = 'hang'
  const events: string[] = []
  d.on('change', () => events.push('change'))
  d.on('lookupError', () => events.push('lookupError'))
  const started = d.start()
  d.stop()
  await started
  t.same(events, [], 'the cancelled queries are not reported')
  t.same(d.urls, [])
  t.same(timers.delays(), [])
})
