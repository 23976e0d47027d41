// One probe's exchange (src/health/probe.ts), driven through undici's handler calls: the status and the lag a
// replica reports, bodies kept only to read it from (a dropped one cut past 128 KiB), the status as the verdict once
// it has arrived, and an abort that settles the probe at once.
import type { Dispatcher } from 'undici'
import t from 'tap'
import { LAG_HEADER, ProbeExchange } from '../../src/health/probe.ts'

class FakeController {
  aborted: Error | undefined
  abort (reason: Error): void { this.aborted = reason }
}
const asController = (c: FakeController): Dispatcher.DispatchController => c as unknown as Dispatcher.DispatchController

function answer (status: number, headers: Record<string, string | string[]>, chunks: readonly string[]): ProbeExchange {
  const exchange = new ProbeExchange()
  const c = asController(new FakeController())
  exchange.onRequestStart(c)
  exchange.onResponseStart(c, status, headers)
  for (const chunk of chunks) exchange.onResponseData(c, Buffer.from(chunk))
  exchange.onResponseEnd()
  return exchange
}

const big = JSON.stringify({ replicationLagMs: 5, pad: 'x'.repeat(70 * 1024) })
const cases: { name: string; status: number; headers: Record<string, string | string[]>; chunks: string[]; lagMs: number | undefined }[] = [
  { name: 'no lag reported', status: 200, headers: {}, chunks: ['ok'], lagMs: undefined },
  { name: 'lag header', status: 200, headers: { [LAG_HEADER]: '120' }, chunks: ['ok'], lagMs: 120 },
  { name: 'lag header twice: the first', status: 200, headers: { [LAG_HEADER]: ['7', '9'] }, chunks: [], lagMs: 7 },
  { name: 'lag header that is not a number', status: 200, headers: { [LAG_HEADER]: '-1' }, chunks: [], lagMs: undefined },
  { name: 'the header wins over the body', status: 200, headers: { [LAG_HEADER]: '3', 'content-type': 'application/json', 'content-length': '24' }, chunks: ['{"replicationLagMs":900}'], lagMs: 3 },
  { name: 'JSON body in two chunks', status: 200, headers: { 'content-type': 'application/json; charset=utf-8', 'content-length': '24' }, chunks: ['{"replicationL', 'agMs":250}'], lagMs: 250 },
  { name: 'JSON body without content-length (chunked)', status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"replicationL', 'agMs":250}'], lagMs: 250 },
  { name: 'JSON body without content-length over 64 KiB: dropped', status: 200, headers: { 'content-type': 'application/json' }, chunks: [big], lagMs: undefined },
  { name: 'JSON body over 64 KiB by its length: dropped', status: 200, headers: { 'content-type': 'application/json', 'content-length': String(big.length) }, chunks: [big], lagMs: undefined },
  { name: 'JSON body longer than its length said: dropped', status: 200, headers: { 'content-type': 'application/json', 'content-length': '24' }, chunks: [big], lagMs: undefined },
  { name: 'body that is not JSON', status: 200, headers: { 'content-type': 'text/plain', 'content-length': '24' }, chunks: ['{"replicationLagMs":250}'], lagMs: undefined },
  { name: 'malformed JSON', status: 200, headers: { 'content-type': 'application/json', 'content-length': '5' }, chunks: ['{"rep'], lagMs: undefined },
  { name: 'negative lag in JSON', status: 200, headers: { 'content-type': 'application/json', 'content-length': '23' }, chunks: ['{"replicationLagMs":-1}'], lagMs: undefined },
  { name: 'failing status keeps its lag', status: 503, headers: { [LAG_HEADER]: '10' }, chunks: [], lagMs: 10 },
]

t.test('status and lag', async (t) => {
  for (const c of cases) {
    const got = await answer(c.status, c.headers, c.chunks).answer
    t.same(got, c.lagMs === undefined ? { status: c.status } : { status: c.status, lagMs: c.lagMs }, c.name)
  }
})

t.test('an error before the status ends the probe with it', async (t) => {
  const exchange = new ProbeExchange()
  const c = asController(new FakeController())
  exchange.onRequestStart(c)
  const err = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
  exchange.onResponseError(c, err)
  await t.rejects(exchange.answer, { code: 'ECONNREFUSED' })
  t.equal(exchange.aborted, false)
})

t.test('after the status, an error or an abort ends only the body: the status stands', async (t) => {
  for (const end of ['error', 'abort'] as const) {
    const exchange = new ProbeExchange()
    const controller = new FakeController()
    const c = asController(controller)
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, 200, { [LAG_HEADER]: '4', 'content-type': 'application/json', 'content-length': '24' })
    exchange.onResponseData(c, Buffer.from('{"replicat'))
    const reason = new Error('cut')
    if (end === 'error') exchange.onResponseError(c, reason)
    else exchange.abort(reason)
    t.same(await exchange.answer, { status: 200, lagMs: 4 }, end)
    if (end === 'abort') t.equal(controller.aborted, reason, 'the request is aborted')
  }
})

t.test('a lag body cut short after the status (an error, an abort): the status stands, the lag is unknown', async (t) => {
  for (const end of ['error', 'abort'] as const) {
    for (const headers of [{ 'content-length': '24' }, {}]) {
      const exchange = new ProbeExchange()
      const c = asController(new FakeController())
      exchange.onRequestStart(c)
      exchange.onResponseStart(c, 200, { 'content-type': 'application/json', ...headers })
      exchange.onResponseData(c, Buffer.from('{"replicat'))
      if (end === 'error') exchange.onResponseError(c, new Error('cut'))
      else exchange.abort(new Error('cut'))
      t.strictSame(await exchange.answer, { status: 200, lagUnknown: true }, `${end}, ${'content-length' in headers ? 'with' : 'without'} a length`)
    }
  }
  const complete = answer(200, { 'content-type': 'application/json' }, ['{"status":"ok"}'])
  t.strictSame(await complete.answer, { status: 200 }, 'a whole body without a lag reports none: not unknown')
})

t.test('a body only read to be dropped is cut past 128 KiB, the status standing', async (t) => {
  const byLength = new ProbeExchange()
  const first = new FakeController()
  byLength.onRequestStart(asController(first))
  byLength.onResponseStart(asController(first), 200, { 'content-length': String(200 * 1024) })
  t.ok(first.aborted, 'a content-length over the limit: cut at once')
  t.same(await byLength.answer, { status: 200 })

  const byBytes = new ProbeExchange()
  const second = new FakeController()
  byBytes.onRequestStart(asController(second))
  byBytes.onResponseStart(asController(second), 503, {})
  for (let i = 0; i < 4 && second.aborted === undefined; i++) byBytes.onResponseData(asController(second), Buffer.alloc(64 * 1024))
  t.ok(second.aborted, 'a body without a length: cut once past the limit')
  t.same(await byBytes.answer, { status: 503 })
})

t.test('abort while the request waits for its connection: settled at once; sent when it starts, its answer dropped', async (t) => {
  const exchange = new ProbeExchange()
  const reason = new Error('timed out')
  exchange.abort(reason)
  await t.rejects(exchange.answer, reason)
  t.equal(exchange.aborted, true)
  const controller = new FakeController()
  exchange.onRequestStart(asController(controller))
  t.equal(controller.aborted, undefined, 'not aborted: the connection stays for the next probe')
  exchange.onResponseStart(asController(controller), 200, {})
  exchange.onResponseEnd()
  await t.rejects(exchange.answer, reason, 'the late answer changes nothing')
})

t.test('abort with its queued request (the checker stopped): aborted once it starts', async (t) => {
  const exchange = new ProbeExchange()
  const reason = new Error('stopped')
  exchange.abort(reason, true)
  await t.rejects(exchange.answer, reason)
  const controller = new FakeController()
  exchange.onRequestStart(asController(controller))
  t.equal(controller.aborted, reason)
})

t.test('abort mid-request (before the status) aborts it; later calls change nothing', async (t) => {
  const exchange = new ProbeExchange()
  const controller = new FakeController()
  const c = asController(controller)
  exchange.onRequestStart(c)
  const reason = new Error('timed out')
  exchange.abort(reason)
  t.equal(controller.aborted, reason)
  exchange.onResponseStart(c, 200, {})
  exchange.onResponseEnd()
  exchange.onResponseError(c, new Error('late'))
  await t.rejects(exchange.answer, reason)
})

t.test('abort after the answer changes nothing', async (t) => {
  const exchange = answer(204, {}, [])
  exchange.abort(new Error('late'))
  t.same(await exchange.answer, { status: 204 })
  t.equal(exchange.aborted, false)
})
