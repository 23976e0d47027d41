// README: `routes[].headers` narrows a route "to requests carrying these headers with exactly these values (names
// case-insensitive)". Header values are opaque to the gateway (a tenant id, a token, a version tag): an operator who
// routes `x-tenant: ACME` to a dedicated pool expects `x-tenant: acme` to stay on the shared route, as Envoy's
// exact header matcher does. Pins src/routing/table.ts match's `header?.(name) === value` (line 121).
import t from 'tap'
import { RoutingTable } from '../../src/routing/table.ts'

t.test('header values match exactly; header names in any case', async (t) => {
  const table = new RoutingTable([
    { path: '/api', pool: 'dedicated', stripPrefix: false, headers: { 'X-Tenant': 'ACME' } },
    { path: '/api', pool: 'shared', stripPrefix: false },
  ])
  const cases: [value: string | undefined, pool: string][] = [
    ['ACME', 'dedicated'],
    ['acme', 'shared'],
    ['Acme', 'shared'],
    ['ACME ', 'shared'],
    ['ACMEX', 'shared'],
    [undefined, 'shared'],
  ]
  for (const [value, pool] of cases) {
    const lookup = (name: string): string | undefined => (name === 'x-tenant' ? value : undefined)
    t.equal(table.match('/api/x', 'GET', undefined, lookup)?.route.pool, pool, `x-tenant: ${JSON.stringify(value)} → ${pool}`)
  }
})
