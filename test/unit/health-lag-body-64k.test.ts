// A JSON lag body of exactly 64 KiB (its content-length at the limit) is still read for its lag (health/probe.ts):
// the limit is the largest lag report taken, as the body-size check during the read has it. Dropping a body at the
// limit by its declared length would leave a replica whose report is padded to that size lagging forever.
import type { Dispatcher } from 'undici'
import t from 'tap'
import { ProbeExchange } from '../../src/health/probe.ts'

class FakeController {
  aborted: Error | undefined
  abort (reason: Error): void { this.aborted = reason }
}

t.test('a JSON body of exactly 64 KiB by its content-length reports its lag', async (t) => {
  const LIMIT = 64 * 1024
  const head = JSON.stringify({ replicationLagMs: 5, pad: '' })
  const body = head.replace('"pad":""', `"pad":"${'x'.repeat(LIMIT - Buffer.byteLength(head))}"`)
  t.equal(Buffer.byteLength(body), LIMIT, 'the body is 64 KiB')
  for (const length of [LIMIT, LIMIT + 1]) {
    const exchange = new ProbeExchange()
    const c = new FakeController() as unknown as Dispatcher.DispatchController
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, 200, { 'content-type': 'application/json', 'content-length': String(length) })
    exchange.onResponseData(c, Buffer.from(body))
    if (length > LIMIT) exchange.onResponseData(c, Buffer.from(' '))
    exchange.onResponseEnd()
    t.same(await exchange.answer, length === LIMIT ? { status: 200, lagMs: 5 } : { status: 200 }, `content-length ${length}`)
  }
})
