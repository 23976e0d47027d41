// With retry.idempotencyKey on, a POST is retried after its body reached an upstream only when it carries an
// Idempotency-Key with a value: an empty one (or blanks, which Node trims to empty) names nothing the upstream could
// deduplicate by, so such a POST was run by two upstreams. It is sent once, as a POST without a key would be.
import { request } from 'node:http'
import t from 'tap'
import type { Test } from 'tap'
import { gateway, upstreams } from './_util.ts'

/** A POST with exactly this Idempotency-Key value; resolves with the status and the upstream that answered. */
function post (base: string, key: string): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/charge`, { method: 'POST', agent: false, headers: { 'idempotency-key': key, 'content-type': 'text/plain' } }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode!, upstream: res.headers['x-upstream'] as string | undefined }))
    })
    req.on('error', reject)
    req.end('amount=100')
  })
}

/** A resets every request after reading it; B answers. Round-robin tries A first. */
async function setup (t: Test) {
  const [a, b] = await upstreams(t, 2)
  a!.mode = 'reset-before-response'
  const gw = await gateway(t, {
    pools: { p: { targets: [a!.url, b!.url], outlier: { enabled: false }, circuitBreaker: { enabled: false }, retry: { idempotencyKey: true } } },
    routes: [{ path: '/', pool: 'p' }],
  }, [a!, b!])
  return { a: a!, b: b!, url: gw.url }
}

for (const [name, key] of [['an empty', ''], ['a blank', '   ']] as const) {
  t.test(`${name} Idempotency-Key does not make a POST retryable once sent`, async (t) => {
    const { a, b, url } = await setup(t)
    const reply = await post(url, key)
    t.equal(reply.status, 502, 'upstream_unreachable: A reset it and it is not sent again')
    t.equal(a.hits, 1)
    t.equal(b.hits, 0, 'B never ran it')
  })
}

t.test('a POST with a non-empty Idempotency-Key is retried on another target', async (t) => {
  const { a, b, url } = await setup(t)
  const reply = await post(url, 'abc-123')
  t.equal(reply.status, 200)
  t.equal(reply.upstream, 'u2')
  t.equal(a.hits, 1)
  t.equal(b.hits, 1)
  t.equal(b.requests[0]!.headers['idempotency-key'], 'abc-123', 'the key goes upstream')
})
