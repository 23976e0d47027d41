// A request body too large to buffer (over the pool's retry.maxBufferBytes) streams to the upstream and can be read
// once: it is not copied to the mirror pool (README, Mirror: "Only bodies that were buffered anyway are copied").
// The request is served whole, and the skipped copy is counted as skipped_body, not as a copy sent or failed: a
// stream handed to a second dispatch would be read by two consumers, cutting the real request's body.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('a streamed body is not mirrored: served whole, counted skipped_body', async (t) => {
  const main = await upstream(t, 'main')
  const shadow = await upstream(t, 'shadow')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: {
      main: { targets: [main.url], retry: { maxBufferBytes: 1024 } },
      shadow: { targets: [shadow.url] },
    },
    routes: [{ name: 'api', path: '/api', pool: 'main', mirror: { pool: 'shadow', percent: 100 } }],
  }, { defaultMetrics: false, env: {} })
  const mirrored = async (outcome: string): Promise<number | undefined> =>
    seriesOf(await gw.gateway.metrics!.render())[key('switchyard_mirror_requests_total', { route: 'api', outcome })]

  const big = Buffer.alloc(64 * 1024, 'b')
  const res = await httpRequest(`${gw.url}/api/upload`, { method: 'POST', body: big })
  t.equal(res.status, 200)
  t.equal(res.echo().bodyBytes, big.length, 'the primary got the whole body')
  t.equal(await mirrored('skipped_body'), 1, 'the copy was skipped for its body')

  // a buffered body is copied: the mirror works, and the streamed request's copy was the one left out
  t.equal((await httpRequest(`${gw.url}/api/small`, { method: 'POST', body: 'x' })).status, 200)
  await waitFor(async () => (await mirrored('sent')) === 1)
  t.strictSame(shadow.requests.map((r) => r.url), ['/api/small'], 'only the buffered request reached the shadow')
})
