// After a stale kept-alive connection (reset before any byte of an answer), only the target whose connection it was
// gets new connections: its other idle ones are likely dead too, another target's were not found dead. Before, every
// later try of the request went out on a new connection wherever it went, so when a pod died (its kept-alive
// connections reset, its port refusing) its requests opened new connections to the targets that took them over,
// leaving their kept-alive ones idle (the DNS chaos property's 'not idle' flake). Now the target that answers after
// the dead one is reached over the connection it already had.
import t from 'tap'
import { expiringUpstream, get } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

t.test("a request whose first try met a dead pod's connection is answered over the next target's kept-alive one", async (t) => {
  const a = await expiringUpstream(t, { name: 'a' })
  const b = await expiringUpstream(t, { name: 'b' })
  const gw = await gateway(t, {
    // round-robin from the first target (test/helpers/gateway.ts); no health checks, so the pod's death is found by requests
    pools: { p: { targets: [a.url, b.url], retry: { attempts: 3, backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'p' }],
  }, { defaultMetrics: false })
  // one request after the other: one kept-alive connection each
  t.equal((await get(`${gw.url}/warm-a`)).upstream, 'a', 'round-robin: a first')
  t.equal((await get(`${gw.url}/warm-b`)).upstream, 'b', 'then b')
  t.equal(a.connections(), 1, 'a has one connection')
  t.equal(b.connections(), 1, 'b has one connection')

  a.die()
  // the next pick is a: its kept-alive connection is reset, its port refuses a new one, b answers
  const res = await get(`${gw.url}/after`)
  t.equal(res.status, 200, 'answered')
  t.equal(res.upstream, 'b', 'by b')
  t.equal(b.connections(), 1, "b answered over the connection it had: no new one, its kept-alive one still in use")
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/after'))
  // the stale try, one on a new connection to the same target (refused: the pod is gone), then b
  const line = gw.accessLogs().find((l) => l.path === '/after')!
  t.match(line, { status: 200, attempts: 3 })
  t.strictSame(line.targets, [a.url, a.url, b.url])

  // and b's connection keeps serving: still one
  t.equal((await get(`${gw.url}/later`)).upstream, 'b', 'the next request answered by b too')
  t.equal(b.connections(), 1, 'still one connection to b')
})
