// switchyard_log_dropped_bytes_total: bytes of log lines whose destination refused them (here /dev/full, which
// answers every write with ENOSPC), read from the log's writer at each scrape. The gateway keeps serving.
import t from 'tap'
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { seriesOf } from '../unit/metrics-exposition.ts'

const DROPPED = 'switchyard_log_dropped_bytes_total'

async function scrape (admin: string): Promise<Record<string, number>> {
  const res = await fetch(`${admin}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return seriesOf(await res.text())
}

t.test('a log destination that refuses writes: the dropped bytes are exported and the requests still answered', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const config = validateConfig({ log: { level: 'info', destination: '/dev/full' }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  const gateway = buildGateway(config, { defaultMetrics: false })
  t.teardown(() => gateway.close())
  const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
  const admin = await gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${url}/x`)
    await res.arrayBuffer()
    t.equal(res.status, 200, 'answered while its log lines are dropped')
  }
  gateway.logger.flush()
  await waitFor(async () => ((await scrape(admin))[DROPPED] ?? 0) > 0)
  t.ok((await scrape(admin))[DROPPED]! >= 3 * 100, 'at least the three access-log lines are counted')
})

t.test('a log destination that takes every line: exported at 0', async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  await (await fetch(`${gw.url}/x`)).arrayBuffer()
  t.equal((await scrape(admin))[DROPPED], 0)
})
