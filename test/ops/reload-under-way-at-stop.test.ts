// A POST /reload still under way when the gateway stops is answered: 503 shutting_down, with Retry-After: 0 during a
// handover (server.reusePort) so the retry reaches the process taking over, as any action under way at the stop
// signal is. Before, a handover answered it without Retry-After, and a reload whose config was still loading when the
// admin listener closed got a connection reset and never an answer (review r36h).
import { request } from 'node:http'
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { Tap } from '../proxy/setup.ts'

interface Answer { status: number; retryAfter: string | undefined; body: string }

function postReload (admin: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${admin}/reload`, { method: 'POST', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function setup (t: Tap, reusePort: boolean) {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = { server: { reusePort }, shutdown: { delayMs: 0, timeoutMs: 200 }, pools: { u: { targets: [u.url] } }, routes: [{ path: '/', pool: 'u' }] }
  let loading = (): void => {}
  const loaded = new Promise<void>((resolve) => { loading = resolve })
  // the reload's config takes long to load (a slow import): it is still loading when the gateway stops
  let release = (): void => {}
  const slow = new Promise<void>((resolve) => { release = resolve })
  const gw = await startGateway(config, { load: async () => { loading(); await slow; return validateConfig(config) } })
  t.teardown(async () => { release(); await gw.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  return { gw, admin, loaded }
}

t.test('a reload still loading when the drain ends is answered 503, not reset', async (t) => {
  const { gw, admin, loaded } = await setup(t, false)
  const answer = postReload(admin)
  await loaded
  await gw.gateway.shutdown()
  const got = await answer
  t.equal(got.status, 503)
  t.match(JSON.parse(got.body), { error: 'shutting_down' })
})

t.test('during a handover, a reload under way is refused with Retry-After: 0', async (t) => {
  const { gw, admin, loaded } = await setup(t, true)
  const answer = postReload(admin)
  await loaded
  await gw.gateway.shutdown()
  const got = await answer
  t.equal(got.status, 503)
  t.equal(got.retryAfter, '0', 'retried at once, by the process taking over')
  t.match(JSON.parse(got.body), { error: 'shutting_down' })
})
