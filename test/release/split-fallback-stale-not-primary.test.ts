// Belongs in test/release/. Gap found by mutation testing (review r36, mutants AF81 and, at 56baba6, AF33): a
// replica's stale kept-alive connection is not the primary's. A read that met one at the replica, then could not
// reach the replica on a new connection, falls back to the primary with the primary's own retry.attempts: the
// replica's uncounted try gives the primary no extra attempt (src/proxy/exchange.ts countedAttempts, foundStale: only
// the current pool's, from triedBefore).
import t from 'tap'
import { expiringUpstream, get } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, refusedUrl } from '../proxy/setup.ts'

t.test("a read falling back after a replica's stale connection has the primary's attempts, no more", async (t) => {
  const replica = await expiringUpstream(t, { name: 'replica' })
  const primary = await refusedUrl() // the primary refuses: every attempt it has is spent
  const gw = await gateway(t, {
    pools: {
      primary: { targets: [primary], retry: { attempts: 2, backoff: { baseMs: 1, maxMs: 2 } } },
      replicas: { targets: [replica.url], retry: { attempts: 1 } },
    },
    routes: [{ name: 'db', path: '/db', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.equal((await get(`${gw.url}/db/warm`)).upstream, 'replica')
  replica.expire()
  replica.die()
  t.equal((await get(`${gw.url}/db/x`)).status, 502)
  await waitFor(() => gw.accessLogs().some((l) => l.path === '/db/x'))
  // the replica: stale, then refused on a new connection; the primary: its two attempts
  const line = gw.accessLogs().find((l) => l.path === '/db/x')
  t.strictSame(line?.targets, [replica.url, replica.url, primary, primary])
  t.equal(line?.attempts, 4)
})
