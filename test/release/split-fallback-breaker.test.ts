// A split read that was the replicas' half-open probe and fell back to the primary is judged by the primary's breaker,
// as the primary's request. The probe's hook over the replicas' breaker was left on the exchange: the primary's answer
// closed the replicas' breaker although no replica had answered, and the primary's breaker never heard of it.
import type { RequestListener } from 'node:http'
import t from 'tap'
import type { BreakerState } from '../../src/resilience/breaker.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

const serve = async (t: Tap, handler: RequestListener): Promise<string> => (await serveOnLoopback(t, handler)).url

const BREAKER = { volumeThreshold: 1, errorThresholdPercentage: 50, rollingWindowMs: 10_000, resetTimeoutMs: 300 }

async function gateway (t: Tap, replica: string, primary: string): Promise<TestGateway> {
  const gw = await startGateway({
    pools: {
      primary: { targets: [primary], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: BREAKER },
      replicas: {
        targets: [replica],
        retry: { attempts: 1, perTryTimeoutMs: 15_000 },
        outlier: { enabled: false },
        circuitBreaker: BREAKER,
        timeouts: { requestMs: 20_000 },
        connections: { maxPerTarget: 1, maxQueuedPerTarget: 1 },
      },
    },
    routes: [{ path: '/', pool: 'primary', reads: { pool: 'replicas' } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  return gw
}

t.test("a probe read no replica answered: the primary's answer does not close the replicas' breaker", async (t) => {
  let hanging = 0
  const replica = await serve(t, (req, res) => { if (req.url !== '/hang') res.writeHead(503).end(); else hanging++ })
  const primary = await serve(t, (_req, res) => res.end('primary'))
  const gw = await gateway(t, replica, primary)
  const replicas = gw.gateway.pools().get('replicas')!.breaker
  const states: BreakerState[] = []
  replicas.on('state', (state) => states.push(state))
  // the replica's only connection and its only queue slot taken (sent while closed): the probe finds it busy
  const holding = new AbortController()
  t.teardown(() => holding.abort())
  const target = gw.gateway.pools().get('replicas')!.pool.targets[0]!
  fetch(`${gw.url}/hang`, { signal: holding.signal }).catch(() => {})
  await waitFor(() => hanging === 1, 5000) // the connection is busy at the replica
  fetch(`${gw.url}/hang`, { signal: holding.signal }).catch(() => {})
  await waitFor(() => target.queued === 1, 5000) // and the queue slot taken
  replicas.force('open')
  await waitFor(() => replicas.state === 'half-open', 3000)
  const res = await fetch(`${gw.url}/x`)
  t.equal(res.status, 200)
  t.equal(await res.text(), 'primary', 'the primary answered')
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.strictSame(states, ['open', 'half-open'], "the replicas' breaker is not closed by it")
})

t.test("a probe read that falls back: the primary's failure counts against the primary's breaker", async (t) => {
  const replica = await serve(t, (_req, res) => res.writeHead(503).end())
  const primary = await serve(t, (_req, res) => res.writeHead(503).end('primary down'))
  const gw = await gateway(t, replica, primary)
  const replicas = gw.gateway.pools().get('replicas')!.breaker
  const main = gw.gateway.pools().get('primary')!.breaker
  replicas.force('open')
  await waitFor(() => replicas.state === 'half-open', 3000)
  const res = await fetch(`${gw.url}/x`)
  t.equal(res.status, 503)
  await res.arrayBuffer()
  await waitFor(() => main.state === 'open', 1000)
  t.equal(main.state, 'open', 'one failure at volumeThreshold 1 opens it')
})
