// One probe's exchange (src/health/probe.ts), driven through undici's handler calls: the status and the lag a
// replica reports, bodies kept only to read it from, and an abort that settles the probe at once.
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
  { name: 'JSON body without content-length: dropped', status: 200, headers: { 'content-type': 'application/json' }, chunks: ['{"replicationLagMs":250}'], lagMs: undefined },
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

t.test('an error ends the probe with it', async (t) => {
  const exchange = new ProbeExchange()
  const c = asController(new FakeController())
  exchange.onRequestStart(c)
  const err = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })
  exchange.onResponseError(c, err)
  await t.rejects(exchange.answer, { code: 'ECONNREFUSED' })
  t.equal(exchange.aborted, false)
})

t.test('abort while the request waits for its connection: settled at once, aborted once it starts', async (t) => {
  const exchange = new ProbeExchange()
  const reason = new Error('timed out')
  exchange.abort(reason)
  await t.rejects(exchange.answer, reason)
  t.equal(exchange.aborted, true)
  const controller = new FakeController()
  exchange.onRequestStart(asController(controller))
  t.ok(controller.aborted, 'the request is aborted when it gets its connection')
})

t.test('abort mid-answer aborts the request; later calls change nothing', async (t) => {
  const exchange = new ProbeExchange()
  const controller = new FakeController()
  const c = asController(controller)
  exchange.onRequestStart(c)
  exchange.onResponseStart(c, 200, {})
  const reason = new Error('timed out')
  exchange.abort(reason)
  t.equal(controller.aborted, reason)
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
