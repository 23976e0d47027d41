// Breaker, retry and budget: each subtest is one behaviour, named as its file was.
import t from 'tap'
import type { CircuitBreakerConfig } from '../../src/config/schema.ts'
import { type BreakerState, NOT_A_PROBE, PoolBreaker, type Verdict } from '../../src/resilience/breaker.ts'
import { nextState } from '../helpers/breaker-state.ts'
import CircuitBreaker from 'opossum'
import { clockAt, ManualClock } from '../helpers/clock.ts'
import { RetryBudget } from '../../src/resilience/budget.ts'
import { classifyError, type FailureKind } from '../../src/resilience/classify.ts'
import { parseRetryAfter, RetryDecider, type RetryRequestFacts } from '../../src/resilience/retry.ts'
import { poolConfig } from './config-fixtures.ts'
import { noRandom, sequence } from './prng.ts'

// Half-open, one request is the probe. If the state changes under it (an operator forces the breaker open while the
// probe is in flight), that probe no longer speaks for the pool: when the breaker next goes half-open, a fresh probe
// must be admitted at once (not after the old one's lease, up to the per-try timeout), and the old request's late
// verdict must not close the breaker. Pins src/resilience/breaker.ts #set's `this.#endProbe(this.#probe)` (line 156).
t.test('resilience-breaker-probe-forgotten-on-state-change', async (t) => {
  const config: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 1, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

  t.test('a probe overtaken by a forced open neither blocks the next probe nor decides for it', async (t) => {
    const b = new PoolBreaker(config, undefined, 60_000) // a long lease: only the state change can free the slot
    t.teardown(() => b.shutdown())
    const opened = nextState(b)
    b.judge('failure', b.admit()!)
    t.equal(await opened, 'open')
    t.equal(await nextState(b), 'half-open')
    const stale = b.admit()
    t.ok(stale !== undefined && stale !== NOT_A_PROBE, 'the first probe is admitted')
    t.equal(b.admit(), undefined, 'and holds the slot')
    b.force('open')
    t.equal(b.state, 'open')
    t.equal(await nextState(b), 'half-open')
    t.equal(b.allows(), true, 'half-open again: the slot is free')
    const fresh = b.admit()
    t.ok(fresh !== undefined && fresh !== NOT_A_PROBE, 'a fresh probe is admitted at once')
    b.judge('success', stale!)
    await new Promise((resolve) => setImmediate(resolve))
    t.equal(b.state, 'half-open', "the overtaken probe's success does not close the breaker")
    b.judge('success', fresh!)
    t.equal(await nextState(b), 'closed', "the fresh probe's does")
  })
})


t.test('resilience-breaker', async (t) => {
  const tiny: CircuitBreakerConfig = { enabled: true, errorThresholdPercentage: 50, volumeThreshold: 2, rollingWindowMs: 10_000, resetTimeoutMs: 50 }

  function breaker (t: { teardown: (fn: () => void) => void }, config: Partial<CircuitBreakerConfig> = {}, now?: () => number): { b: PoolBreaker; events: [BreakerState, BreakerState][] } {
    const b = new PoolBreaker({ ...tiny, ...config }, now && clockAt(now))
    t.teardown(() => b.shutdown())
    const events: [BreakerState, BreakerState][] = []
    b.on('state', (state, previous) => events.push([state, previous]))
    return { b, events }
  }

  /** opossum hears a verdict through a promise: its state moves a turn later. */
  const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

  /** One request through the breaker, admitted and judged at once; false when it was refused. */
  async function request (b: PoolBreaker, verdict: Verdict): Promise<boolean> {
    const admission = b.admit()
    if (admission === undefined) return false
    b.judge(verdict, admission)
    await settled()
    return true
  }
  const fail = (b: PoolBreaker): Promise<boolean> => request(b, 'failure')
  const succeed = (b: PoolBreaker): Promise<boolean> => request(b, 'success')

  t.test('closed: requests are admitted, not as probes', async (t) => {
    const { b, events } = breaker(t)
    t.equal(b.state, 'closed')
    t.equal(b.allows(), true)
    t.equal(b.admit(), NOT_A_PROBE)
    t.equal(await succeed(b), true)
    t.equal(b.retryAfterSeconds(), undefined, 'no Retry-After while closed')
    t.strictSame(events, [])
  })

  t.test('failures open it at volumeThreshold', async (t) => {
    const { b, events } = breaker(t)
    await fail(b)
    t.equal(b.state, 'closed', 'below volumeThreshold')
    await fail(b)
    t.equal(b.state, 'open', 'volumeThreshold reached at 100% errors')
    t.equal(b.allows(), false)
    t.strictSame(events, [['open', 'closed']])
  })

  t.test('open: requests are refused, and no further events', async (t) => {
    const { b, events } = breaker(t, { resetTimeoutMs: 10_000 })
    await fail(b)
    await fail(b)
    t.equal(b.admit(), undefined, 'refused')
    t.equal(await succeed(b), false)
    t.strictSame(events, [['open', 'closed']], 'one event per change')
  })

  t.test('the error threshold is a strict percentage', async (t) => {
    const { b } = breaker(t)
    await succeed(b)
    await fail(b)
    t.equal(b.state, 'closed', '1 of 2 = 50% is not above 50%')
    await fail(b)
    t.equal(b.state, 'open', '2 of 3 is')
  })

  t.test('no verdict (a client that left, no target) counts nothing', async (t) => {
    const { b, events } = breaker(t)
    for (let i = 0; i < 10; i++) await request(b, undefined)
    await fail(b)
    t.equal(b.state, 'closed', 'one failure, below volumeThreshold: the ten without a verdict were not counted')
    await succeed(b)
    t.equal(b.state, 'closed', '1 failure in 2 verdicts')
    t.strictSame(events, [])
  })

  t.test('a verdict that comes while open is not counted', async (t) => {
    const { b } = breaker(t, { resetTimeoutMs: 10_000 })
    const late = b.admit()!
    await fail(b)
    await fail(b)
    t.equal(b.state, 'open')
    b.judge('success', late)
    await settled()
    t.equal(b.state, 'open', 'a success of a request admitted before it opened does not close it')
  })

  t.test('half-open after resetTimeoutMs: one probe at a time, and a good one closes it', async (t) => {
    const { b, events } = breaker(t)
    await fail(b)
    await fail(b)
    const state = await nextState(b)
    t.equal(state, 'half-open')
    t.equal(b.allows(), true, 'the probe slot is free')
    const probe = b.admit()
    t.ok(probe !== undefined && probe !== NOT_A_PROBE, 'admitted as the probe')
    t.equal(b.allows(), false, 'only one probe at a time')
    t.equal(b.admit(), undefined, 'a second request during the probe is refused')
    b.judge('success', probe!)
    await settled()
    t.equal(b.state, 'closed')
    t.equal(b.allows(), true)
    t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
  })

  t.test('half-open: a failed probe opens it again', async (t) => {
    const { b, events } = breaker(t)
    await fail(b)
    await fail(b)
    await nextState(b)
    t.equal(await fail(b), true, 'admitted as the probe')
    t.equal(b.state, 'open')
    t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['open', 'half-open']])
  })

  t.test('half-open: a probe with no verdict frees the slot and changes nothing', async (t) => {
    const { b, events } = breaker(t)
    await fail(b)
    await fail(b)
    await nextState(b)
    await request(b, undefined)
    t.equal(b.state, 'half-open', 'neither closed nor reopened')
    t.equal(b.allows(), true, 'the next request may probe')
    t.equal(await succeed(b), true)
    t.equal(b.state, 'closed')
    t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
  })

  t.test('half-open: a request admitted while closed that ends with no verdict neither reopens it nor takes the probe slot', async (t) => {
    const { b, events } = breaker(t)
    const old = b.admit()!
    t.equal(old, NOT_A_PROBE)
    await fail(b)
    await fail(b)
    await nextState(b)
    const probe = b.admit()!
    b.judge(undefined, old) // its client left while the breaker was half-open
    await settled()
    t.equal(b.state, 'half-open', 'not reopened')
    t.equal(b.admit(), undefined, 'the probe still holds the slot')
    b.judge('success', probe)
    await settled()
    t.equal(b.state, 'closed', "the probe's success closes it")
    t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
  })

  t.test('half-open: only the probe decides; a request admitted while closed that fails meanwhile does not', async (t) => {
    const { b, events } = breaker(t)
    const old = b.admit()!
    await fail(b)
    await fail(b)
    await nextState(b)
    const probe = b.admit()!
    b.judge('failure', old) // e.g. its deadline passed while the probe was in flight
    await settled()
    t.equal(b.state, 'half-open', 'not reopened by the straggler')
    b.judge('success', probe)
    await settled()
    t.equal(b.state, 'closed', "the probe's success closes it")
    t.strictSame(events, [['open', 'closed'], ['half-open', 'open'], ['closed', 'half-open']])
  })

  t.test('half-open: a probe without a verdict gives its slot up after probeLeaseMs', async (t) => {
    const clock = new ManualClock()
    const b = new PoolBreaker(tiny, clock, 300)
    t.teardown(() => b.shutdown())
    await fail(b)
    await fail(b)
    await nextState(b)
    const slow = b.admit()! // an upload trickling in: no answer for a long while
    t.equal(b.admit(), undefined, 'the slot is held')
    clock.advance(299)
    t.equal(b.allows(), false)
    clock.advance(1)
    t.equal(b.allows(), true, 'free after the lease')
    const next = b.admit()!
    t.ok(next !== NOT_A_PROBE && next !== slow, 'the next request probes')
    // the slow one ends late with no verdict (its client left): its end does not free the new probe's slot (a late
    // verdict of it decides: test/unit/breaker-late-probe.test.ts)
    b.judge(undefined, slow)
    await settled()
    t.equal(b.state, 'half-open')
    t.equal(b.allows(), false, "the new probe's slot is still held")
    b.judge('success', next)
    await settled()
    t.equal(b.state, 'closed')
  })

  t.test('retryAfterSeconds counts down from the opening with the injected clock', async (t) => {
    let now = 1_000_000
    const { b } = breaker(t, { resetTimeoutMs: 10_000 }, () => now)
    b.force('open')
    const cases: [elapsed: number, want: number][] = [[0, 10], [1, 10], [1_000, 9], [2_500, 8], [9_000, 1], [9_999, 1], [10_000, 1], [60_000, 1]]
    for (const [elapsed, want] of cases) {
      now = 1_000_000 + elapsed
      t.equal(b.retryAfterSeconds(), want, `${elapsed} ms after opening → ${want} s`)
    }
  })

  t.test('force opens and closes by hand, one event per change', async (t) => {
    const { b, events } = breaker(t, { resetTimeoutMs: 10_000 })
    b.force('closed')
    t.strictSame(events, [], 'closing a closed breaker changes nothing')
    b.force('open')
    b.force('open')
    t.equal(b.state, 'open')
    t.equal(b.allows(), false)
    b.force('closed')
    b.force('closed')
    t.equal(b.state, 'closed')
    t.equal(b.allows(), true)
    t.strictSame(events, [['open', 'closed'], ['closed', 'open']])
    t.equal(await succeed(b), true, 'admitted again')
  })

  t.test('a disabled breaker admits everything and counts nothing', async (t) => {
    const { b, events } = breaker(t, { enabled: false })
    for (let i = 0; i < 10; i++) t.equal(await fail(b), true)
    t.equal(b.admit(), NOT_A_PROBE)
    b.force('open')
    t.equal(b.state, 'closed')
    t.equal(b.allows(), true)
    t.equal(b.retryAfterSeconds(), undefined)
    t.strictSame(events, [])
  })

  t.test('keeps no latency per request: no rolling percentiles, no snapshots', async (t) => {
    // the opossum instance is private to PoolBreaker: catch it as it subscribes to its own events
    const made: CircuitBreaker[] = []
    const on = CircuitBreaker.prototype.on
    CircuitBreaker.prototype.on = function (this: CircuitBreaker, ...args: unknown[]) {
      if (!made.includes(this)) made.push(this)
      return (on as (...a: unknown[]) => CircuitBreaker).apply(this, args)
    } as typeof on
    let b: PoolBreaker
    try {
      ({ b } = breaker(t))
    } finally {
      CircuitBreaker.prototype.on = on
    }
    const inner = made[0]!
    let snapshots = 0
    inner.status.on('snapshot', () => snapshots++)
    for (let i = 0; i < 100; i++) await succeed(b)
    t.equal(inner.stats.fires, 100, 'the window still counts every request')
    t.equal(inner.stats.latencyTimes.length, 0, 'but holds no latency for any')
    // a snapshot would come every rollingWindowMs / 10 = 1 s
    await new Promise((resolve) => setTimeout(resolve, 1200))
    t.equal(snapshots, 0)
  })
})

// An operator watches the pool's "retry budget exhausted" counter (metrics/upstream.ts budgetExhausted, wired in
// upstream/registry.ts as RetryBudget's onRejected) to see retries being shed during a pool-wide failure, as Envoy's
// upstream_rq_retry_overflow. Every refused tryAcquire must call onRejected exactly once, and an allowed one never:
// pins src/resilience/budget.ts tryAcquire's `this.#onRejected()` (line 44).
t.test('resilience-budget-rejected-callback', async (t) => {
  t.test('onRejected is called once per refused retry, never for an allowed one', async (t) => {
    const cases: [percent: number, min: number, active: number, tries: number, refused: number][] = [
      [20, 3, 0, 3, 0], // within minConcurrent: no call
      [20, 3, 0, 5, 2],
      [20, 3, 100, 20, 0],
      [20, 3, 100, 25, 5],
      [0, 0, 10, 4, 4], // a budget of nothing refuses every retry
    ]
    for (const [percent, min, active, tries, refused] of cases) {
      let calls = 0
      const budget = new RetryBudget({ percent, minConcurrent: min }, () => { calls++ })
      for (let i = 0; i < active; i++) budget.tryStartRequest()
      let allowed = 0
      for (let i = 0; i < tries; i++) if (budget.tryAcquire()) allowed++
      const label = `${percent}% of ${active}, min ${min}, ${tries} tries`
      t.equal(calls, refused, `${label}: onRejected calls`)
      t.equal(budget.rejected, refused, `${label}: rejected count agrees`)
      t.equal(allowed + refused, tries, `${label}: every try allowed or refused`)
    }
  })

  t.test('wouldAllow alone never reports a refusal', async (t) => {
    let calls = 0
    const budget = new RetryBudget({ percent: 0, minConcurrent: 0 }, () => { calls++ })
    t.equal(budget.wouldAllow(), false)
    t.equal(calls, 0, 'asking is not refusing')
    t.equal(budget.tryAcquire(), false)
    t.equal(calls, 1)
  })
})


// connections.maxRequests (Envoy's max_requests per cluster): the pool's count of requests in flight is bounded; a
// request past it is not counted (its caller answers 503 pool_busy), and each one that ends makes room for one more.
// Pins src/resilience/budget.ts tryStartRequest's compare.
t.test('resilience-budget-max-requests', async (t) => {
  t.test('at most maxRequests in flight; a refused start is not counted; a finished one makes room', async (t) => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3, maxRequests: 3 })
    t.strictSame([budget.tryStartRequest(), budget.tryStartRequest(), budget.tryStartRequest()], [true, true, true])
    t.equal(budget.tryStartRequest(), false, 'the fourth is refused')
    t.equal(budget.tryStartRequest(), false, 'and the fifth')
    t.equal(budget.active, 3, 'refused starts are not counted')
    budget.requestFinished()
    t.equal(budget.active, 2)
    t.equal(budget.tryStartRequest(), true, 'room for one again')
    t.equal(budget.tryStartRequest(), false)
    t.equal(budget.rejected, 0, 'no retry refusal is counted for it')
  })

  t.test('whenIdle still resolves once the last admitted request ends', async (t) => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3, maxRequests: 1 })
    t.equal(budget.tryStartRequest(), true)
    t.equal(budget.tryStartRequest(), false)
    let idle = false
    void budget.whenIdle().then(() => { idle = true })
    budget.requestFinished()
    await Promise.resolve()
    t.equal(idle, true, 'the refused start left nothing to finish')
  })

  t.test('no maxRequests: no bound', async (t) => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 3 })
    let started = 0
    for (let i = 0; i < 10_000; i++) if (budget.tryStartRequest()) started++
    t.equal(started, 10_000)
    t.equal(budget.active, 10_000)
  })
})

t.test('resilience-budget', async (t) => {
  /** How many retries the budget lets run at once with `active` requests in flight. */
  function capacity (percent: number, minConcurrent: number, active: number): { allowed: number; budget: RetryBudget } {
    const budget = new RetryBudget({ percent, minConcurrent })
    for (let i = 0; i < active; i++) budget.tryStartRequest()
    let allowed = 0
    while (allowed < 10_000 && budget.tryAcquire()) allowed++
    return { allowed, budget }
  }

  t.test('retries in flight ≤ max(percent% of active, minConcurrent)', async (t) => {
    const cases: [percent: number, min: number, active: number, allowed: number][] = [
      [20, 3, 0, 3],
      [20, 3, 10, 3], // 2 < 3
      [20, 3, 15, 3],
      [20, 3, 20, 4],
      [20, 3, 100, 20],
      [20, 3, 1000, 200],
      [50, 0, 7, 3], // 3.5 → 3 whole retries
      [0, 0, 100, 0],
      [0, 2, 100, 2],
      [100, 0, 5, 5],
      [10, 1, 0, 1],
    ]
    for (const [percent, min, active, allowed] of cases) {
      t.equal(capacity(percent, min, active).allowed, allowed, `${percent}% of ${active}, min ${min} → ${allowed}`)
    }
  })

  t.test('refusals are counted', async (t) => {
    const { budget } = capacity(20, 3, 0)
    t.equal(budget.rejected, 1, 'the refusal that ended the loop')
    t.equal(budget.tryAcquire(), false)
    t.equal(budget.tryAcquire(), false)
    t.equal(budget.rejected, 3)
    t.equal(budget.retriesInFlight, 3)
  })

  t.test('release frees a slot', async (t) => {
    const { budget } = capacity(20, 2, 0)
    t.equal(budget.wouldAllow(), false)
    budget.release()
    t.equal(budget.retriesInFlight, 1)
    t.equal(budget.wouldAllow(), true)
    t.equal(budget.tryAcquire(), true)
    t.equal(budget.tryAcquire(), false)
  })

  t.test('wouldAllow takes no slot and counts no refusal', async (t) => {
    const budget = new RetryBudget({ percent: 20, minConcurrent: 1 })
    for (let i = 0; i < 5; i++) t.equal(budget.wouldAllow(), true)
    t.equal(budget.retriesInFlight, 0)
    budget.tryAcquire()
    for (let i = 0; i < 5; i++) t.equal(budget.wouldAllow(), false)
    t.equal(budget.rejected, 0)
  })

  t.test('the budget follows active requests as they start and finish', async (t) => {
    const budget = new RetryBudget({ percent: 10, minConcurrent: 0 })
    t.equal(budget.wouldAllow(), false, 'nothing active: no retries')
    for (let i = 0; i < 20; i++) budget.tryStartRequest()
    t.equal(budget.active, 20)
    t.equal(budget.tryAcquire(), true)
    t.equal(budget.tryAcquire(), true)
    t.equal(budget.tryAcquire(), false, '10% of 20 = 2')
    for (let i = 0; i < 10; i++) budget.requestFinished()
    t.equal(budget.active, 10)
    budget.release()
    budget.release()
    t.equal(budget.tryAcquire(), true)
    t.equal(budget.tryAcquire(), false, '10% of 10 = 1')
  })
})


t.test('resilience-classify', async (t) => {
  const err = (code?: string): Error => Object.assign(new Error('x'), code === undefined ? {} : { code })

  t.test('classifyError', async (t) => {
    const cases: [error: unknown, want: FailureKind][] = [
      [err('ECONNREFUSED'), 'connect-failure'],
      [err('ENOTFOUND'), 'connect-failure'],
      [err('EAI_AGAIN'), 'connect-failure'],
      [err('EHOSTUNREACH'), 'connect-failure'],
      [err('ENETUNREACH'), 'connect-failure'],
      [err('EHOSTDOWN'), 'connect-failure'],
      [err('UND_ERR_CONNECT_TIMEOUT'), 'connect-failure'],
      [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'connect-failure'],
      [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'connect-failure'],
      [err('SELF_SIGNED_CERT_IN_CHAIN'), 'connect-failure'],
      [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'connect-failure'],
      [err('CERT_HAS_EXPIRED'), 'connect-failure'],
      [err('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
      [err('UND_ERR_BODY_TIMEOUT'), 'timeout'],
      [err('ECONNRESET'), 'reset'],
      [err('EPIPE'), 'reset'],
      [err('UND_ERR_SOCKET'), 'reset'],
      [err('UND_ERR_CLOSED'), 'reset'],
      [err('ECONNABORTED'), 'reset'],
      [err('HPE_INVALID_CONSTANT'), 'bad-response'],
      [err('HPE_INVALID_HEADER_TOKEN'), 'bad-response'],
      [err('UND_ERR_INFO'), 'bad-response'],
      [err('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'bad-response'],
      [err('UND_ERR_HEADERS_OVERFLOW'), 'bad-response'],
      [err('ERR_ASSERTION'), 'bad-response'],
      // undici's HTTPParserError has no code (upstream-fuzz.test.ts found every parser refusal taken for a reset)
      [Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' }), 'bad-response'],
      [err('ESOMETHINGNEW'), 'reset'],
      [err(), 'reset'],
      [null, 'reset'],
      [undefined, 'reset'],
      ['a string', 'reset'],
      [{ code: 'ECONNREFUSED' }, 'connect-failure'],
    ]
    for (const [error, want] of cases) t.equal(classifyError(error), want, `${String((error as { code?: string } | null)?.code ?? error)} → ${want}`)
  })

  t.test('codes are matched exactly (case-sensitive)', async (t) => {
    t.equal(classifyError(err('econnrefused')), 'reset')
    t.equal(classifyError(err('hpe_invalid')), 'reset')
  })
})

// A 503 with `Retry-After: <HTTP-date>` asks the client not to come back before that time (RFC 9110 §10.2.3).
// The gateway's clock has milliseconds while HTTP dates have whole seconds, so the wait must round UP: with the date
// 1.2 s away, the gateway waits 2 s (capped by backoff.maxMs later), never 1 s, which would retry before the date the
// upstream named. Pins src/resilience/retry.ts parseRetryAfter's Math.ceil((at - now) / 1000) (line 72).
t.test('resilience-retry-after-date-rounds-up', async (t) => {
  t.test('an HTTP date is turned into whole seconds rounded up from a clock with milliseconds', async (t) => {
    const date = 'Wed, 21 Oct 2015 07:28:05 GMT'
    const at = Date.UTC(2015, 9, 21, 7, 28, 5)
    const cases: [msBefore: number, seconds: number][] = [
      [5000, 5],
      [4999, 5],
      [4001, 5],
      [4000, 4],
      [1200, 2],
      [1, 1], // one millisecond before the date: still wait, not 0 = "at once"
      [0, 0],
      [-300, 0], // already past
    ]
    for (const [msBefore, seconds] of cases) {
      t.equal(parseRetryAfter(date, at - msBefore), seconds, `${msBefore} ms before the date → ${seconds} s`)
    }
  })
})


t.test('resilience-retry', async (t) => {
  const defaults = (random: () => number = noRandom): RetryDecider => new RetryDecider(poolConfig().retry, random)
  const facts = (method: string, extra: Partial<RetryRequestFacts> = {}): RetryRequestFacts => ({ method, idempotencyKey: false, replayable: true, ...extra })

  t.test('mayRetry: whether a body must be kept for a replay', async (t) => {
    const d = defaults()
    const cases: [method: string, key: boolean, want: boolean][] = [
      ['GET', false, true],
      ['PUT', false, true],
      ['DELETE', false, true],
      ['POST', false, true], // a connect failure may still be retried
      ['PATCH', false, true],
      ['TRACE', false, false],
      ['TRACE', true, true],
    ]
    for (const [method, key, want] of cases) t.equal(d.mayRetry(method, key), want, `${method} key=${key}`)
    const once = new RetryDecider(poolConfig({ retry: { attempts: 1 } }).retry, noRandom)
    for (const m of ['GET', 'POST']) t.equal(once.mayRetry(m, true), false, `attempts 1: ${m} never`)
  })

  t.test('retryableFailure', async (t) => {
    const d = defaults()
    const cases: [kind: FailureKind, req: RetryRequestFacts, want: boolean, why: string][] = [
      ['connect-failure', facts('GET'), true, 'GET connect failure'],
      ['connect-failure', facts('POST'), true, 'POST never left: retryable'],
      ['connect-failure', facts('PATCH'), true, 'PATCH never left: retryable'],
      ['connect-failure', facts('TRACE'), true, 'any method when it never left'],
      ['reset', facts('GET'), true, 'GET reset'],
      ['timeout', facts('GET'), true, 'GET timeout'],
      ['reset', facts('PUT'), true, 'PUT is idempotent'],
      ['reset', facts('DELETE'), true, 'DELETE is idempotent'],
      ['reset', facts('POST'), false, 'POST may have been processed'],
      ['timeout', facts('POST'), false, 'POST may have been processed'],
      ['reset', facts('PATCH'), false, 'PATCH may have been processed'],
      ['reset', facts('POST', { idempotencyKey: true }), true, 'POST with an idempotency key'],
      ['timeout', facts('POST', { idempotencyKey: true }), true, 'POST with an idempotency key'],
      ['timeout', facts('PATCH', { idempotencyKey: true }), true, 'PATCH with an idempotency key'],
      ['reset', facts('TRACE'), false, 'method not in the policy'],
      ['connect-failure', facts('GET', { replayable: false }), false, 'body not replayable'],
      ['connect-failure', facts('POST', { replayable: false, idempotencyKey: true }), false, 'body not replayable'],
      ['reset', facts('GET', { replayable: false }), false, 'body not replayable'],
      ['client-abort', facts('GET'), false, 'the client left'],
      ['client-abort', facts('POST', { idempotencyKey: true }), false, 'the client left'],
      ['bad-response', facts('GET'), false, 'not in retryOn'],
    ]
    for (const [kind, req, want, why] of cases) t.equal(d.retryableFailure(kind, req), want, `${kind} ${req.method}: ${why}`)

    const connectOnly = new RetryDecider(poolConfig({ retry: { retryOn: ['connect-failure', 503] } }).retry, noRandom)
    t.equal(connectOnly.retryableFailure('connect-failure', facts('GET')), true)
    t.equal(connectOnly.retryableFailure('reset', facts('GET')), false, 'reset not listed')
    t.equal(connectOnly.retryableFailure('timeout', facts('GET')), false, 'timeout not listed')
    const noConnect = new RetryDecider(poolConfig({ retry: { retryOn: ['reset'] } }).retry, noRandom)
    t.equal(noConnect.retryableFailure('connect-failure', facts('GET')), false, 'connect-failure not listed')
    // POST in retry.methods would silently never be retried: the config says so instead
    for (const method of ['POST', 'PATCH']) {
      t.throws(() => poolConfig({ retry: { methods: ['GET', method] } }), { code: 'invalid_config', problems: [/^pools\.p\.retry\.methods\[1\]: .*retry\.idempotencyKey/] }, `${method} is refused`)
    }
    // CONNECT is no request the gateway routes: refused as such, without the Idempotency-Key advice
    t.throws(() => poolConfig({ retry: { methods: ['GET', 'CONNECT'] } }), { code: 'invalid_config', problems: [/^pools\.p\.retry\.methods\[1\]: CONNECT is answered 501/] }, 'CONNECT is refused')
  })

  t.test('retryableStatus', async (t) => {
    const d = defaults()
    const cases: [status: number, req: RetryRequestFacts, want: boolean][] = [
      [502, facts('GET'), true],
      [503, facts('GET'), true],
      [504, facts('HEAD'), true],
      [500, facts('GET'), false],
      [429, facts('GET'), false],
      [200, facts('GET'), false],
      [404, facts('GET'), false],
      [503, facts('POST'), false],
      [503, facts('POST', { idempotencyKey: true }), true],
      [503, facts('TRACE'), false],
      [503, facts('GET', { replayable: false }), false],
    ]
    for (const [status, req, want] of cases) t.equal(d.retryableStatus(status, req), want, `${status} ${JSON.stringify(req)}`)
    const custom = new RetryDecider(poolConfig({ retry: { retryOn: [429] } }).retry, noRandom)
    t.equal(custom.retryableStatus(429, facts('GET')), true)
    t.equal(custom.retryableStatus(503, facts('GET')), false)
  })

  t.test('backoffMs: exponential ceiling with full jitter', async (t) => {
    // defaults: baseMs 25, maxMs 250 → ceilings 25, 50, 100, 200, 250, 250…
    const ceilings: [retry: number, ceiling: number][] = [[1, 25], [2, 50], [3, 100], [4, 200], [5, 250], [6, 250], [10, 250]]
    for (const [n, ceiling] of ceilings) {
      t.equal(defaults(() => 0).backoffMs(n), 0, `retry ${n}: lower bound 0`)
      t.equal(defaults(() => 0.999999).backoffMs(n), ceiling - 1, `retry ${n}: upper bound ${ceiling} (exclusive)`)
      t.equal(defaults(() => 0.5).backoffMs(n), Math.floor(ceiling / 2), `retry ${n}: midpoint`)
    }
    const d = new RetryDecider(poolConfig({ retry: { backoff: { baseMs: 0, maxMs: 0 } } }).retry, () => 0.7)
    t.equal(d.backoffMs(3), 0, 'zero backoff')
    const whole = defaults(sequence(0.123, 0.456))
    t.ok(Number.isInteger(whole.backoffMs(3)) && Number.isInteger(whole.backoffMs(4)), 'whole milliseconds')
  })

  t.test('backoffMs: Retry-After wins, capped at maxMs', async (t) => {
    const d = defaults() // random must not be consulted
    t.equal(d.backoffMs(1, 0), 0)
    t.equal(d.backoffMs(1, 1), 250, '1 s capped at 250 ms')
    t.equal(d.backoffMs(4, 120), 250)
    const roomy = new RetryDecider(poolConfig({ retry: { backoff: { baseMs: 25, maxMs: 5000 } } }).retry, noRandom)
    t.equal(roomy.backoffMs(1, 1), 1000)
    t.equal(roomy.backoffMs(1, 3), 3000)
    t.equal(roomy.backoffMs(1, 60), 5000)
    t.equal(defaults(() => 0.5).backoffMs(2, -1), 25, 'a negative Retry-After is ignored')
  })

  t.test('parseRetryAfter', async (t) => {
    const now = Date.UTC(2015, 9, 21, 7, 28, 0)
    const cases: [value: string | string[] | undefined, want: number | undefined][] = [
      [undefined, undefined],
      [[], undefined],
      ['0', 0],
      ['5', 5],
      ['120', 120],
      [' 7 ', 7],
      [['3', '9'], 3],
      ['Wed, 21 Oct 2015 07:29:00 GMT', 60],
      ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
      ['Wed, 21 Oct 2015 07:28:30 GMT', 30],
      ['Sunday, 21-Oct-15 07:30:00 GMT', 120], // obsolete RFC 850 form
      ['Wed, 21 Oct 2015 06:00:00 GMT', 0],
      ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
      ['', undefined],
      ['soon', undefined],
      ['5s', undefined],
      ['12abc', undefined],
      ['0x10', undefined],
      ['1e3', undefined],
    ]
    for (const [value, want] of cases) t.equal(parseRetryAfter(value, now), want, JSON.stringify(value))
  })

  t.test('parseRetryAfter refuses values that are neither delta-seconds nor an HTTP date', async (t) => {
    // RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds. Date.parse is far more lenient
    // (it reads '1.5' as 5 Jan 2001), so these come back as 0 = "retry at once" (see the report).
    const now = Date.UTC(2015, 9, 21, 7, 28, 0)
    for (const value of ['1.5', '-1', 'foo 1', '1 2']) t.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value))
  })
})
