// A route bound to an IPv6 literal host (`host: '[::1]'`, as the config requires it written) is named by its id in
// metrics, /status and `POST /routes/:name/canary`: the operator expects `[::1]/x`, the host as written with both
// brackets, and the table to keep that host whole. Dropping the closing bracket when the port is stripped still
// matches requests (both sides lose it) but names the route `[::1/x`. Pins src/routing/table.ts stripPort's
// `host.slice(0, close + 1)` (line 173), through hostnameOf and routeIdOf.
import t from 'tap'
import { RoutingTable, routeIdOf } from '../../src/routing/table.ts'

const base = { path: '/x', pool: 'p', stripPrefix: false }

t.test('an IPv6 route host keeps its brackets in the id and in the table', async (t) => {
  const cases: [host: string, id: string][] = [
    ['[::1]', '[::1]/x'],
    ['[2001:DB8::1]', '[2001:db8::1]/x'],
  ]
  for (const [host, id] of cases) {
    t.equal(routeIdOf({ ...base, host }), id, `${host} → ${id}`)
    const table = new RoutingTable([{ ...base, host }])
    const route = table.routes[0]!
    t.equal(route.id, id, `table id of ${host}`)
    t.equal(route.label, id, `label of unnamed ${host}`)
    t.equal(route.host, id.slice(0, -2), `host of ${host} as the table keeps it`)
  }
})

t.test('requests to the IPv6 host match with and without a port; the label is the whole id', async (t) => {
  const table = new RoutingTable([{ ...base, host: '[::1]' }, { ...base, pool: 'any' }])
  for (const host of ['[::1]', '[::1]:8080']) {
    const m = table.match('/x', 'GET', host)
    t.equal(m?.route.pool, 'p', `${host} → p`)
    t.equal(m?.route.label, '[::1]/x', `${host} → labelled [::1]/x`)
  }
  t.equal(table.match('/x', 'GET', '[::2]:8080')?.route.pool, 'any')
})
