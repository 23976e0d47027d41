// `switchyard check` shows where a route sends besides its pool: its read replicas, its canary (with its weight)
// and its mirror (with its share), on the route's own line.
import t from 'tap'
import { describeConfig } from '../../src/cli/summary.ts'
import { validateConfig } from '../../src/config/validate.ts'

const config = validateConfig({
  secret: 'a-secret-of-16-chars',
  pools: Object.fromEntries(['payment', 'payment-v2', 'payment-shadow', 'member', 'member-replicas', 'plain'].map((name, i) => [name, { targets: [`http://127.0.0.1:${i + 1}`] }])),
  routes: [
    { path: '/payment', pool: 'payment', canary: { pool: 'payment-v2', weight: 10, stickyBy: 'header:x-user-id' }, mirror: { pool: 'payment-shadow', percent: 5 } },
    { path: '/member', pool: 'member', reads: { pool: 'member-replicas' } },
    { path: '/plain', pool: 'plain' },
  ],
})
const lines = describeConfig(config, 'routes.config.ts').split('\n')
const routeLine = (path: string): string => lines.find((l) => l.startsWith(`  ${path} `)) ?? ''

t.test("a canary and a mirror are on their route's line, with their shares", async (t) => {
  const line = routeLine('/payment')
  t.match(line, /-> payment\b/)
  t.match(line, /canary payment-v2 10%/)
  t.match(line, /mirror payment-shadow 5%/)
})

t.test("read replicas are on their route's line", async (t) => {
  t.match(routeLine('/member'), /reads \(GET,HEAD\) -> member-replicas/)
})

t.test('a route without them is one pool', async (t) => {
  t.equal(routeLine('/plain'), '  /plain -> plain')
})

// Two routes on one path that differ by a header were printed as one route with two pools; the name the admin API
// takes (POST /routes/:name/canary) was left out.
t.test('a route\'s header conditions and name are on its line', async (t) => {
  const two = validateConfig({
    pools: { stable: { targets: ['http://127.0.0.1:1'] }, beta: { targets: ['http://127.0.0.1:2'] } },
    routes: [{ name: 'api-beta', path: '/api', pool: 'beta', headers: { 'x-beta': 'yes' } }, { path: '/api', pool: 'stable' }],
  })
  const out = describeConfig(two, 'routes.config.ts').split('\n')
  t.ok(out.includes('  /api (x-beta: yes) [api-beta] -> beta'), out.join('\n'))
  t.ok(out.includes('  /api -> stable'))
})
