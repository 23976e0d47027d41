// pools.*.maxResponseHeaderBytes: the largest upstream response head a pool takes (undici's maxHeaderSize). Past it
// the answer is a bad response (502 upstream_bad_response); a head of exactly the limit is taken (undici refuses one
// that reaches its own maxHeaderSize). The default stays 16 KiB, as HAProxy's buffer.
import t from 'tap'
import { baseConfig, problemPaths } from '../config/problems.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, type Tap } from '../proxy/setup.ts'
import { ScriptedUpstream } from './scripted-upstream.ts'
import { converse, jsonErrorBody, type WireResponse } from './wire.ts'

/** What a raw client gets (node:http's client would refuse a head over its own 16 KiB). */
async function answerWithHeader (t: Tap, bytes: number, pool: Record<string, unknown>): Promise<WireResponse | undefined> {
  const u = await ScriptedUpstream.start((socket) => { socket.write(`HTTP/1.1 200 OK\r\nContent-Security-Policy: ${'a'.repeat(bytes)}\r\nContent-Length: 2\r\n\r\nok`) })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url], retry: { attempts: 1 }, ...pool } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  return (await converse(Number(new URL(gw.url).port), 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n')).responses[0]
}

t.test('by default a 17,000-byte response header is a bad response', async (t) => {
  const res = await answerWithHeader(t, 17_000, {})
  t.equal(res?.status, 502)
  t.equal(jsonErrorBody(res?.body ?? Buffer.alloc(0))?.error, 'upstream_bad_response')
})

t.test('maxResponseHeaderBytes 64 KiB takes a 40,000-byte header', async (t) => {
  const res = await answerWithHeader(t, 40_000, { maxResponseHeaderBytes: 65_536 })
  t.equal(res?.status, 200)
  t.equal(res?.headers['content-security-policy']?.length, 40_000)
  t.equal(res?.body.toString(), 'ok')
})

t.test('maxResponseHeaderBytes 64 KiB still refuses a 70,000-byte header', async (t) => {
  const res = await answerWithHeader(t, 70_000, { maxResponseHeaderBytes: 65_536 })
  t.equal(res?.status, 502)
  t.equal(jsonErrorBody(res?.body ?? Buffer.alloc(0))?.error, 'upstream_bad_response')
})

// the names and values of the helper's answer, less the Content-Security-Policy value: 23 + 14 ('Content-Length') + 1
const OTHER_HEADER_BYTES = 'Content-Security-Policy'.length + 'Content-Length'.length + '2'.length

for (const limit of [16_384, 1024]) {
  t.test(`maxResponseHeaderBytes ${limit} is the most taken: a head of exactly ${limit} header bytes passes, one more is 502`, async (t) => {
    const pool = limit === 16_384 ? {} : { maxResponseHeaderBytes: limit } // 16 KiB: the default
    const exact = await answerWithHeader(t, limit - OTHER_HEADER_BYTES, pool)
    t.equal(exact?.status, 200, `${limit} bytes of names and values pass`)
    t.equal(exact?.body.toString(), 'ok')
    const over = await answerWithHeader(t, limit + 1 - OTHER_HEADER_BYTES, pool)
    t.equal(over?.status, 502, `${limit + 1} are a bad response`)
    t.equal(jsonErrorBody(over?.body ?? Buffer.alloc(0))?.error, 'upstream_bad_response')
  })
}

t.test('a health probe takes a head of exactly maxResponseHeaderBytes, as traffic does', async (t) => {
  const limit = 1024
  const u = await ScriptedUpstream.start((socket) => { socket.write(`HTTP/1.1 200 OK\r\nContent-Security-Policy: ${'a'.repeat(limit - OTHER_HEADER_BYTES)}\r\nContent-Length: 2\r\n\r\nok`) })
  t.teardown(() => u.close())
  const gw = await gateway(t, { pools: { p: { targets: [u.url], maxResponseHeaderBytes: limit, healthCheck: { path: '/health', timeoutMs: 2000 } } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const runtime = gw.gateway.pools().get('p')!
  const target = runtime.pool.targets[0]!
  await waitFor(() => runtime.health!.lastResult(target) !== undefined)
  t.match(runtime.health!.lastResult(target), { ok: true, status: 200 }, 'the probe passed')
})

t.test('maxResponseHeaderBytes is a whole number from 1 KiB to 1 MiB', async (t) => {
  const withLimit = (limit: unknown): string[] => problemPaths(baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1'], maxResponseHeaderBytes: limit } } }))
  for (const ok of [1024, 16_384, 1024 * 1024]) t.strictSame(withLimit(ok), [], `${ok} accepted`)
  for (const bad of [0, 1023, 1024 * 1024 + 1, 2048.5, '16k']) t.strictSame(withLimit(bad), ['pools.a.maxResponseHeaderBytes'], `${String(bad)} refused`)
})
