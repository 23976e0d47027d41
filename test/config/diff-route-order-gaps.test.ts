// Belongs in test/config/. Gaps found by mutation testing (review r36, mutants AF13, AF21, AF19) in the reload diff's
// route-reorder detection (src/config/diff.ts reorderedRoutes, src/routing/table.ts mayMatchSameRequest):
// - header names are compared case-insensitively on both routes of a pair, so two routes that name one header in two
//   spellings with two values decide no request between them, and swapping them is no change;
// - of three tied routes, only the pair whose order flipped is listed: a route that kept its place before both is not.
import t from 'tap'
import { diffConfigs } from '../../src/config/diff.ts'
import { validateConfig } from '../../src/config/validate.ts'

const configOf = (routes: Record<string, unknown>[]) => validateConfig({
  pools: { b: { targets: ['http://127.0.0.1:1'] }, c: { targets: ['http://127.0.0.1:2'] }, d: { targets: ['http://127.0.0.1:3'] } },
  routes,
})

t.test('routes naming one header in two spellings, with two values, match no request together: a swap is no change', async (t) => {
  // both name x-a alike (one group), and x-b in two spellings with two values: no request carries both values
  const upper = { path: '/h', pool: 'b', headers: { 'x-a': '1', 'X-B': '2' } }
  const lower = { path: '/h', pool: 'c', headers: { 'x-a': '1', 'x-b': '3' } }
  for (const routes of [[upper, lower], [lower, upper]]) {
    const diff = diffConfigs(configOf(routes), configOf([...routes].reverse()))
    t.strictSame(diff.routes.changed, [], `listed ${JSON.stringify(routes.map((r) => r.headers))}, then reversed`)
    t.ok(diff.identical)
  }
})

t.test('of three tied routes, only the two that swapped are changed', async (t) => {
  const one = { path: '/x', pool: 'b', methods: ['GET'], name: 'one' }
  const two = { path: '/x', pool: 'c', methods: ['GET', 'POST'], name: 'two' }
  const three = { path: '/x', pool: 'd', methods: ['GET', 'PUT'], name: 'three' }
  const diff = diffConfigs(configOf([one, two, three]), configOf([one, three, two]))
  t.strictSame(diff.routes, { added: [], removed: [], changed: ['three', 'two'] }, "'one' answers what it answered before")
})
