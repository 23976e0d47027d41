// A pool's half-open probe holds the breaker's one slot at most what one try may take (retry.perTryTimeoutMs): a
// probe with no verdict by then (a slow upload, an answer that never starts) gives the slot up and the next request
// probes. With the breaker's own default (2 s) instead, a pool with a shorter per-try timeout would refuse every
// request (503) for longer than any try can last, and one with a longer one would let a second probe through while
// the first is still legitimately running.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { ManualClock } from '../helpers/clock.ts'
import { nextState } from '../helpers/breaker-state.ts'

t.test("the half-open probe's hold on the slot ends at the pool's per-try timeout", async (t) => {
  const clock = new ManualClock()
  const config = validateConfig({
    pools: {
      p: {
        targets: ['http://127.0.0.1:1'],
        circuitBreaker: { errorThresholdPercentage: 50, volumeThreshold: 1, resetTimeoutMs: 50 },
        retry: { perTryTimeoutMs: 500 },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const rt = buildPools(config, { clock }).pools.get('p')!
  t.teardown(() => rt.close())
  const breaker = rt.breaker
  const opened = nextState(breaker)
  const failed = breaker.admit()!
  breaker.judge('failure', failed)
  t.equal(await opened, 'open')
  t.equal(await nextState(breaker), 'half-open')
  t.not(breaker.admit(), undefined, 'the probe is admitted')
  t.equal(breaker.admit(), undefined, 'and holds the slot')
  clock.advance(499)
  t.equal(breaker.admit(), undefined, 'still, just before the per-try timeout')
  clock.advance(1)
  t.not(breaker.admit(), undefined, 'at the per-try timeout the next request probes')
})
