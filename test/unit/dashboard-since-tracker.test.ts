// "Since when" on the dashboard: a time the gateway reports wins; otherwise a state this page saw change gets the
// time of the snapshot that showed the change, and keeps it while the state holds; what was already so in the
// first snapshot is unknown (the page was not there when it happened), not "just now".
import t from 'tap'
import { SinceTracker } from '../../src/admin/dashboard/since.ts'
import { circuitKey, targetKey } from '../../src/admin/dashboard/views/context.ts'
import type { DashboardStatus, DashboardTarget } from '../../src/admin/dashboard/wire.ts'

function status (state: DashboardTarget['state'], since?: string, circuit: 'closed' | 'open' = 'closed'): DashboardStatus {
  const target: DashboardTarget = { id: 'a:1', url: 'http://a:1', backup: false, weight: 1, state, inFlight: 0, tunnels: 0, requests: 0, failures: 0, ...(since === undefined ? {} : { since }) }
  return {
    version: '0', configFile: 'x', configLoadedAt: new Date(0).toISOString(), configHash: 'h', restartRequired: [], readiness: 'ready', tunnels: 0, removedPools: {},
    pools: { p: { circuit, activeTier: 'primary', switchover: 'auto', hold: 'none', targets: [target] } },
    routes: [],
  } as DashboardStatus
}

t.test('since: unknown at first, the snapshot time of a change seen, kept while the state holds, the gateway\'s when given', async (t) => {
  const tracker = new SinceTracker()
  const key = targetKey('p', 'a:1')
  tracker.update(status('healthy'), 1000)
  t.equal(tracker.since(key), undefined, 'already healthy in the first snapshot: unknown')
  t.equal(tracker.since(circuitKey('p')), undefined)
  tracker.update(status('healthy'), 2000)
  t.equal(tracker.since(key), undefined, 'still unknown while nothing changes')
  tracker.update(status('unhealthy'), 3000)
  t.equal(tracker.since(key), 3000, 'a change seen: the time of that snapshot')
  tracker.update(status('unhealthy'), 4000)
  t.equal(tracker.since(key), 3000, 'kept while the state holds')
  tracker.update(status('unhealthy', '1970-01-01T00:00:02.500Z'), 5000)
  t.equal(tracker.since(key), 2500, "the gateway's own time wins")
})
