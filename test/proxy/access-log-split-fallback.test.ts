// A split read whose replica failed falls back to the primary pool; when the primary then cannot serve it (its
// only target disabled) the line names the primary as its pool, and must not name the replica's target with it:
// `target` is the pool's target that made the last attempt, and no target of the primary made one. The replica
// stays in the line's count of attempts.
import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type LogRecord } from '../helpers/gateway.ts'
import { httpRequest } from './http.ts'
import { upstream, type Tap } from './setup.ts'

async function fallBackToDisabledPrimary (t: Tap, logger?: pino.Logger): Promise<LogRecord[]> {
  const primary = await upstream(t, 'primary')
  const replica = await upstream(t, 'replica')
  replica.failCount = 1 // a 503, a failure status: the read falls back
  const config: GatewayConfig = {
    pools: {
      primary: { targets: [primary.url] },
      replicas: { targets: [replica.url], retry: { attempts: 1 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas' } }],
  }
  const gw = await startGateway(config, { defaultMetrics: false, env: {}, ...(logger !== undefined ? { logger } : {}) })
  t.teardown(() => gw.close())
  const { pool } = gw.gateway.pools().get('primary')!
  for (const target of pool.targets) pool.setStatus(target, { disabled: true })
  const res = await httpRequest(`${gw.url}/m/1`, { headers: { 'x-request-id': 'split-fallback' } })
  t.equal(res.status, 503)
  t.equal(replica.hits, 1, 'the replica was tried')
  t.equal(primary.hits, 0)
  return gw.logs
}

function checkLine (t: Tap, lines: LogRecord[]): void {
  const line = lines.find((l) => l.msg === 'request' && l.requestId === 'split-fallback')!
  t.match(line, { pool: 'primary', status: 503, error: 'no_available_target', attempts: 1 })
  t.notOk('target' in line, "no target: the primary's made no attempt, and the replica's is not the primary's")
}

t.test("the gateway's own log line: no replica target paired with the primary pool", async (t) => {
  const logs = await fallBackToDisabledPrimary(t)
  await waitFor(() => logs.some((l) => l.msg === 'request'), 3000)
  checkLine(t, logs)
})

t.test("a caller's logger (pino formats the line): the same", async (t) => {
  const logs: LogRecord[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString().split('\n')) if (text.trim() !== '') logs.push(JSON.parse(text) as LogRecord)
      cb()
    },
  })
  await fallBackToDisabledPrimary(t, pino({ level: 'info' }, stream))
  await waitFor(() => logs.some((l) => l.msg === 'request'), 3000)
  checkLine(t, logs)
})
