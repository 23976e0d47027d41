// The response deadline (requestMs) of a streamed upload starts once the request has been sent, as in Envoy:
// an upload that takes longer than requestMs still succeeds. A buffered body starts the clock at once, and a
// streamed upload to an upstream that never answers still times out after it has been sent.
// The gateway runs on a manual clock: the test moves time while the upload is under way, so nothing sleeps.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor, type TestGateway } from '../helpers/gateway.ts'
import type { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest, type ErrorBody, type HttpResponse } from './http.ts'
import { gateway, upstream, type HasTeardown } from './setup.ts'

const routes = [{ path: '/', pool: 'p' }]
const CHUNKS = 8
const CHUNK_BYTES = 8 * 1024

async function setup (t: HasTeardown, hang = false): Promise<{ u: TestUpstream; gw: TestGateway; clock: ManualClock }> {
  const u = await upstream(t, 'u')
  if (hang) u.mode = 'hang'
  const clock = new ManualClock()
  // maxBufferBytes 1024: a 64 KiB body streams to the upstream instead of being buffered
  const gw = await gateway(t, { pools: { p: { targets: [u.url], timeouts: { requestMs: 300 }, retry: { maxBufferBytes: 1024 } } }, routes }, { clock })
  return { u, gw, clock }
}

const inFlight = (gw: TestGateway): number => gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight

/** Sends 64 KiB in 8 chunks, moving the gateway's clock by 100 ms between chunks (700 ms > requestMs in all). */
async function slowUpload (gw: TestGateway, clock: ManualClock, headers: Record<string, string>): Promise<{ response: Promise<HttpResponse>; settled: () => boolean }> {
  const body = new PassThrough()
  let done = false
  const response = httpRequest(gw.url + '/upload', { method: 'POST', headers, body })
  void response.finally(() => { done = true })
  body.write(Buffer.alloc(CHUNK_BYTES, 'u'))
  await waitFor(() => inFlight(gw) === 1)
  for (let i = 1; i < CHUNKS; i++) {
    clock.advance(100)
    body.write(Buffer.alloc(CHUNK_BYTES, 'u'))
    await new Promise((resolve) => setImmediate(resolve))
  }
  body.end()
  return { response, settled: () => done }
}

for (const [name, headers] of [
  ['content-length', { 'content-length': String(CHUNKS * CHUNK_BYTES) }],
  ['chunked', { 'transfer-encoding': 'chunked' }],
] as const) {
  t.test(`a streamed (${name}) upload longer than requestMs is not cut off by the response deadline`, async (t) => {
    const { gw, clock } = await setup(t)
    const { response } = await slowUpload(gw, clock, headers)
    const res = await response
    t.equal(res.status, 200)
    t.equal(res.echo().bodyBytes, 65536, 'the upstream received the whole body')
  })
}

t.test('a buffered PUT to a hanging upstream gets 504 at requestMs', async (t) => {
  const { u, gw, clock } = await setup(t, true)
  let done = false
  const response = httpRequest(gw.url + '/put', { method: 'PUT', body: 'small body' })
  void response.finally(() => { done = true })
  await waitFor(() => u.hits === 1)
  clock.advance(299)
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(done, false, 'still waiting just before requestMs')
  clock.advance(1)
  const res = await response
  t.equal(res.status, 504)
  t.equal(res.json<ErrorBody>().error, 'upstream_timeout')
  t.equal(u.hits, 1, 'the upstream had the request once: no retry past the deadline')
  t.equal(u.requests[0]!.bodyBytes, 10)
})

t.test('a streamed upload to a hanging upstream still gets 504 once it has been sent', async (t) => {
  const { u, gw, clock } = await setup(t, true)
  const { response, settled } = await slowUpload(gw, clock, { 'content-length': String(CHUNKS * CHUNK_BYTES) })
  await waitFor(() => u.hits === 1)
  await waitFor(() => clock.pendingTimers === 1) // the response deadline, armed once the body was sent
  t.equal(settled(), false, 'the 700 ms upload did not use up requestMs')
  clock.advance(300)
  const res = await response
  t.equal(res.status, 504)
  t.equal(res.json<ErrorBody>().error, 'upstream_timeout')
  t.equal(u.hits, 1, 'the upstream received the whole request once')
  t.equal(u.requests[0]!.bodyBytes, 65536)
  await waitFor(() => inFlight(gw) === 0)
})
