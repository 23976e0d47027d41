// A Via line the Connection field names is hop-by-hop: dropped, and the gateway's own entry starts a new list
// (test/unit/proxy-headers.test.ts). Its entries still say where the request has been: this gateway instance's marks
// in it count towards the loop (src/proxy/headers.ts, buildUpstreamHeaders: passes counted before the Connection
// check), or a request that keeps coming back with `Connection: via` is never refused 508. Pins mutant AW24 (review
// r42i): the marks counted only in the Via lines passed on.
import t from 'tap'
import { buildUpstreamHeaders, type IncomingFacts, type UpstreamHeaderOptions } from '../../src/proxy/headers.ts'

const via = { entry: '1.1 gw (switchyard/0123abcd)', mark: 'switchyard/0123abcd' }
const opts: UpstreamHeaderOptions = { clientIp: '203.0.113.9', trusted: false, proto: 'http', via }

function looped (raw: string[]): boolean | undefined {
  const facts: IncomingFacts = { host: undefined, requestId: undefined, contentLength: undefined, chunked: false, idempotencyKey: false }
  buildUpstreamHeaders(raw, opts, facts)
  return facts.looped
}

t.test("the gateway's marks in a hop-by-hop Via count towards a loop", async (t) => {
  t.equal(looped(['Connection', 'via', 'Via', `${via.entry}, 1.1 a, ${via.entry}`]), true, 'twice in a Via the Connection field names: a loop')
  t.equal(looped(['Via', `${via.entry}`, 'Connection', 'Via', 'Via', `1.1 a, ${via.entry}`]), true, 'once in each line, the last hop-by-hop: a loop')
  t.equal(looped(['Connection', 'via', 'Via', `1.1 a, ${via.entry}`]), undefined, 'once: a hairpin, no loop')
})
