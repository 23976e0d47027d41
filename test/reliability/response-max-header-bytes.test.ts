// pools.*.maxResponseHeaderBytes: the largest upstream response head a pool takes (undici's maxHeaderSize). Past it
// the answer is a bad response (502 upstream_bad_response); the default stays 16 KiB, as nginx's and HAProxy's buffers.
import t from 'tap'
import { baseConfig, problemPaths } from '../config/problems.ts'
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

t.test('maxResponseHeaderBytes is a whole number from 1 KiB to 1 MiB', async (t) => {
  const withLimit = (limit: unknown): string[] => problemPaths(baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1'], maxResponseHeaderBytes: limit } } }))
  for (const ok of [1024, 16_384, 1024 * 1024]) t.strictSame(withLimit(ok), [], `${ok} accepted`)
  for (const bad of [0, 1023, 1024 * 1024 + 1, 2048.5, '16k']) t.strictSame(withLimit(bad), ['pools.a.maxResponseHeaderBytes'], `${String(bad)} refused`)
})
