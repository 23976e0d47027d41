// A path the admin listener serves, asked with a method it does not take, is 405 with Allow (api.test.ts): worked out
// when such a request comes, not by a route for every other method of every path (~550 routes in find-my-way's
// trees, ~30-40 ms of every start before /readyz could answer). What the router refuses (a parameter over its
// limit; bad percent-encoding, which Fastify's own router refuses for every method before any hook) is refused the
// same for those methods as for the ones the path takes.
import t from 'tap'
import pino from 'pino'
import { buildAdmin } from '../../src/admin/server.ts'

function admin () {
  return buildAdmin({
    status: () => { throw new Error('not asked') },
    events: () => [],
    pools: () => new Map(),
    readiness: () => 'ready',
    overloaded: () => false,
    metrics: undefined,
    reload: () => { throw new Error('not asked') },
    canaryRoutes: () => new Map(),
    token: () => undefined,
    logger: pino({ level: 'silent' }),
  })
}

t.test('no route is declared for the methods a path does not take', async (t) => {
  const app = admin()
  t.teardown(() => app.close())
  await app.ready()
  t.ok(app.hasRoute({ method: 'GET', url: '/status' }), 'the path itself')
  for (const [method, url] of [['PUT', '/status'], ['OPTIONS', '/healthz'], ['GET', '/reload'], ['PROPFIND', '/metrics'], ['DELETE', '/routes/:route/canary']] as const) {
    t.notOk(app.hasRoute({ method, url }), `${method} ${url}`)
  }
  const put = await app.inject({ method: 'PUT', url: '/healthz' })
  t.equal(put.statusCode, 405)
  t.equal(put.headers.allow, 'GET, HEAD, OPTIONS')
  t.equal(put.json().error, 'method_not_allowed')
  const options = await app.inject({ method: 'OPTIONS', url: '/reload?x=1' })
  t.equal(options.statusCode, 204, 'a query string is no other path')
  t.equal(options.headers.allow, 'POST, OPTIONS')
  t.equal((await app.inject({ method: 'PUT', url: '/healthz/' })).statusCode, 404, 'nor is a trailing slash the same path, as for its GET')
})

t.test('the router refuses a method a path does not take as it refuses the ones it takes', async (t) => {
  const app = admin()
  t.teardown(() => app.close())
  for (const method of ['POST', 'DELETE'] as const) {
    const tooLong = await app.inject({ method, url: `/routes/${'a'.repeat(3000)}/canary` })
    t.equal(tooLong.statusCode, 414, `${method}: a parameter over the limit`)
    t.equal(tooLong.json().error, 'uri_too_long')
    const badEscape = await app.inject({ method, url: '/pools/%E0%A4%A/targets/x/drain' })
    t.equal(badEscape.statusCode, 400, `${method}: bad percent-encoding`)
    t.equal(badEscape.json().error, 'bad_request')
  }
  const unknown = await app.inject({ method: 'PUT', url: '/nope' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.headers.allow, undefined)
})
