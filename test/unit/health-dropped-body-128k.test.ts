// A probe body read only to be dropped is cut past 128 KiB (health/probe.ts), as undici's body.dump() does: one of
// exactly 128 KiB, by its content-length or as it arrives chunked, is still read to its end, so the probe's
// kept-alive connection stays for the next probe instead of being given up (a new connection per probe).
import type { Dispatcher } from 'undici'
import t from 'tap'
import { ProbeExchange } from '../../src/health/probe.ts'

class FakeController {
  aborted: Error | undefined
  abort (reason: Error): void { this.aborted = reason }
}

t.test('a dropped body of exactly 128 KiB is read whole: the connection is not given up', async (t) => {
  const LIMIT = 128 * 1024
  const cases: [name: string, headers: Record<string, string>][] = [
    ['by content-length', { 'content-type': 'text/plain', 'content-length': String(LIMIT) }],
    ['chunked', { 'content-type': 'text/plain' }],
  ]
  for (const [name, headers] of cases) {
    const exchange = new ProbeExchange()
    const controller = new FakeController()
    const c = controller as unknown as Dispatcher.DispatchController
    exchange.onRequestStart(c)
    exchange.onResponseStart(c, 200, headers)
    for (let sent = 0; sent < LIMIT; sent += 16 * 1024) exchange.onResponseData(c, Buffer.alloc(16 * 1024, 'x'))
    t.equal(controller.aborted, undefined, `${name}: not cut at 128 KiB`)
    exchange.onResponseEnd()
    t.same(await exchange.answer, { status: 200 }, `${name}: the status is the answer`)
  }
})
