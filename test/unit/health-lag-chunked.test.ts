// A replica's lag in a JSON body is read whether the body comes with a content-length or chunked (no length, as a
// streaming JSON writer sends it), up to 64 KiB; past that the body is dropped and reports no lag: under a lag limit
// a replica whose lag is unknown is lagging.
import t, { type Test } from 'tap'
import { PoolRuntime } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { waitFor } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { poolConfig } from './config-fixtures.ts'

async function lagServer (t: Test, body: string): Promise<string> {
  const { url } = await serveOnLoopback(t, (_req, res) => {
    res.setHeader('content-type', 'application/json')
    // two writes and no content-length: Transfer-Encoding chunked
    res.write(body.slice(0, 10))
    res.end(body.slice(10))
  })
  return url
}

async function probedOnce (t: Test, url: string): Promise<PoolRuntime> {
  const clock = new ManualClock()
  const rt = new PoolRuntime('p', poolConfig({ targets: [url], healthCheck: { intervalMs: 10_000, timeoutMs: 5_000, jitter: 0 } }), { clock, random: () => 0 })
  t.teardown(() => rt.close())
  rt.health!.setMaxLagMs(1000)
  void rt.start()
  clock.advance(0)
  await waitFor(() => rt.health!.lastResult(rt.pool.targets[0]!) !== undefined)
  return rt
}

t.test('a chunked JSON body reporting lag over maxLagMs makes the replica lagging', async (t) => {
  const rt = await probedOnce(t, await lagServer(t, JSON.stringify({ status: 'ok', replicationLagMs: 5000 })))
  const target = rt.pool.targets[0]!
  t.equal(rt.health!.lastResult(target)!.lagMs, 5000)
  t.equal(rt.pool.state(target), 'lagging')
})

t.test('a chunked JSON body over 64 KiB is dropped: no lag read', async (t) => {
  const rt = await probedOnce(t, await lagServer(t, JSON.stringify({ replicationLagMs: 10, pad: 'x'.repeat(70 * 1024) })))
  const target = rt.pool.targets[0]!
  t.equal(rt.health!.lastResult(target)!.ok, true)
  t.equal(rt.health!.lastResult(target)!.lagMs, undefined)
  t.equal(rt.pool.state(target), 'lagging', 'its lag is unknown: lagging under the limit, though the body said 10 ms')
})
