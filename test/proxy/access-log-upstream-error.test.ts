// The access-log line of a request whose last upstream attempt failed says why, as the error's code names it
// (upstreamError): an untrusted certificate and a refused connection are both 502 upstream_unreachable otherwise.
// Both ways the line is written: built by hand for the gateway's own logger, by pino for a logger an embedder gives.
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { waitFor, type LogRecord } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { gateway, refusedUrl, upstream, type Tap } from './setup.ts'

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
const selfSigned = certs.selfSigned('self-signed', 'IP:127.0.0.1')

/** How the gateway gets its logger, and the records it logged when they are not the helper's (gw.logs). */
interface Logging { options: { logger?: pino.Logger }; records?: LogRecord[] }

const LOGGINGS: Record<string, () => Logging> = {
  // the helper's log stream: the gateway makes its own logger and builds the line itself (writesPlainJson)
  "the gateway's own logger": () => ({ options: {} }),
  // a logger not made by the gateway: pino serialises the line
  'a pino logger the embedder gives': () => {
    const records: LogRecord[] = []
    const stream = new Writable({
      write (chunk: Buffer, _enc, cb) {
        for (const line of chunk.toString().split('\n')) if (line.trim() !== '') records.push(JSON.parse(line) as LogRecord)
        cb()
      },
    })
    return { options: { logger: pino({ level: 'info' }, stream) }, records }
  },
}

for (const [name, makeLogging] of Object.entries(LOGGINGS)) {
  t.test(`upstreamError in the access log, ${name}`, async (t: Tap) => {
    const logging = makeLogging()
    const secure = await upstream(t, 'self-signed', { tls: selfSigned })
    const plain = await upstream(t, 'plain')
    const gw = await gateway(t, {
      pools: { tls: { targets: [secure.url] }, gone: { targets: [await refusedUrl(t)] }, ok: { targets: [plain.url] } },
      routes: [{ path: '/tls', pool: 'tls' }, { path: '/gone', pool: 'gone' }, { path: '/ok', pool: 'ok' }],
    }, logging.options)
    const accessLines = (): LogRecord[] => (logging.records ?? gw.logs).filter((l) => l.msg === 'request')
    const lineOf = async (path: string, requestId: string): Promise<LogRecord> => {
      const res = await httpRequest(gw.url + path, { headers: { 'x-request-id': requestId } })
      await waitFor(() => accessLines().some((l) => l.requestId === requestId), 3000)
      const line = accessLines().find((l) => l.requestId === requestId)!
      t.equal(line.status, res.status, `${requestId}: the logged status is the answer's`)
      return line
    }

    const untrusted = await lineOf('/tls/x', 'self-signed')
    t.match(untrusted, { status: 502, error: 'upstream_unreachable', upstreamError: 'DEPTH_ZERO_SELF_SIGNED_CERT' })
    t.equal(secure.hits, 0)

    const refused = await lineOf('/gone/x', 'refused')
    t.match(refused, { status: 502, error: 'upstream_unreachable', upstreamError: 'ECONNREFUSED' })

    const served = await lineOf('/ok/x', 'served')
    t.equal(served.status, 200)
    t.notOk('upstreamError' in served, 'no upstreamError on a success')
    t.notOk('error' in served)
  })
}
