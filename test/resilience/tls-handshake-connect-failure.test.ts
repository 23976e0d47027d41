// A TLS handshake that fails sent no request: whatever its error code (an untrusted root behind an intermediate, an
// upstream speaking plain HTTP on an https target), it is a connect failure, so even a POST goes on to the next
// target, and the metrics count it as one.
import t from 'tap'
import { CertificateMaker } from '../helpers/certificates.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const certs = new CertificateMaker()
t.teardown(() => certs.remove())
// the pool trusts only the good target's self-signed certificate
const trusted = certs.selfSigned('trusted', 'DNS:localhost')
const unknownRoot = certs.ca('unknown-root')
const intermediate = certs.intermediate('intermediate', unknownRoot)
const chained = certs.leaf('chained', intermediate, 'DNS:localhost')

async function upstream (t: Tap, name: string, tls?: { key: string; cert: string }): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name, ...(tls ? { tls } : {}) })
  t.teardown(() => u.close())
  return u
}

/** A POST to a pool whose first target is `bad`, the second a good https one. */
async function postPastBadTarget (t: Tap, badUrl: string): Promise<void> {
  const good = await upstream(t, 'good', trusted)
  const goodUrl = `https://127.0.0.1:${good.port}`
  const gw = await startGateway({
    pools: { s: { targets: [badUrl, goodUrl], tls: { ca: trusted.cert, servername: 'localhost' } } },
    routes: [{ path: '/', pool: 's' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const res = await fetch(gw.url + '/x', { method: 'POST', body: 'payload' })
  await res.arrayBuffer()
  t.equal(res.status, 200, 'the second target answered')
  t.equal(good.hits, 1)
  const line = gw.accessLogs().at(-1)
  t.match(line, { status: 200, attempts: 2, targets: [badUrl, goodUrl] }, 'the bad target was tried first')
  const series = seriesOf(await gw.gateway.metrics!.render())
  const badId = new URL(badUrl).host
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 's', target: badId, outcome: 'connect-failure' })], 1, 'the failed handshake counted as a connect failure')
  t.equal(series[key('switchyard_upstream_attempts_total', { pool: 's', target: badId, outcome: 'reset' })], undefined, 'not as a reset')
  t.equal(series[key('switchyard_retries_total', { pool: 's', reason: 'connect-failure' })], 1)
}

t.test('an untrusted root behind an intermediate (UNABLE_TO_GET_ISSUER_CERT_LOCALLY) is a connect failure', async (t) => {
  const bad = await upstream(t, 'bad', { key: chained.key, cert: chained.cert + intermediate.cert })
  await postPastBadTarget(t, `https://127.0.0.1:${bad.port}`)
  t.equal(bad.hits, 0)
})

t.test('plain HTTP on an https target (ERR_SSL_WRONG_VERSION_NUMBER) is a connect failure', async (t) => {
  const plain = await upstream(t, 'plain')
  await postPastBadTarget(t, `https://127.0.0.1:${plain.port}`)
  t.equal(plain.hits, 0)
})
