// One DNS chaos case: a real DNS server (test/helpers/dns-server.ts), four pods on 127.0.0.2-5 behind one name, a
// static pool beside the discovered one, a real gateway with its admin listener, and keep-alive client loops on
// both pools. step() makes one change (DNS, reload, operator, pod health), waits until the gateway has caught up
// with the model (model.ts), and checks /status; finish() stops the load and checks the traffic and what is left.
import type { GatewayConfig } from '../../../src/config/schema.ts'
import { validateConfig } from '../../../src/config/validate.ts'
import { slotTimersFor } from '../../../src/health/slot-timers.ts'
import { systemClock } from '../../../src/runtime.ts'
import type { Target } from '../../../src/upstream/target.ts'
import type { PoolRuntime } from '../../../src/upstream/registry.ts'
import { waitUntilCollected } from '../../helpers/collected.ts'
import { TestDnsServer } from '../../helpers/dns-server.ts'
import { startGateway, waitFor, type TestGateway } from '../../helpers/gateway.ts'
import { Load } from '../../helpers/load.ts'
import { watchBreakerIntervals, type IntervalWatch } from '../opchaos/intervals.ts'
import { ADDRESSES, describe, Model, NAMES, type Address, type PoolSettings, type Step } from './model.ts'
import { Pod, portOf, startPods } from './pods.ts'
import { Timeline } from './timeline.ts'

/** Client loops: this many on the discovered pool, one on the static pool. */
const DNS_LOOPS = 3
// the pods share the gateway's process, so a stall of the machine delays their answers too: a probe timeout of a
// few turns of the event loop, and three misses in a row, keep a busy machine from failing pods that are up
const HEALTH = { path: '/health', intervalMs: 150, timeoutMs: 150, healthyThreshold: 2, unhealthyThreshold: 3, jitter: 0.2 }
/** The pool's retry attempts (the default): a request may fail when this many dead pods are still picked. */
const ATTEMPTS = 3
/** Longest wait for the gateway to catch up with one step (a hung query is tried again after the resolver's 1 s). */
const SETTLE_MS = 6000

export class Violation extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome { status: number; body: unknown }

async function call (base: string, method: string, path: string): Promise<Outcome> {
  const res = await fetch(base + path, { method })
  const text = await res.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: res.status, body }
}

export class World {
  readonly dns: TestDnsServer
  readonly pods: Map<string, Pod>
  readonly staticPod: Pod
  readonly port: number
  readonly model: Model
  readonly timeline = new Timeline()
  readonly trail: string[] = []
  gw!: TestGateway
  admin = ''
  load!: Load
  #static!: PoolRuntime
  #intervals!: IntervalWatch
  /** Names no longer configured, with their query count once the reload settled: it must not grow (lookups stopped). */
  readonly #dropped = new Map<string, number>()
  readonly #t0 = Date.now()

  private constructor (dns: TestDnsServer, pods: Map<string, Pod>, staticPod: Pod, settings: PoolSettings, records: Address[]) {
    this.dns = dns
    this.pods = pods
    this.staticPod = staticPod
    this.port = portOf(pods)
    this.model = new Model(settings, records)
  }

  static async start (settings: PoolSettings, records: Address[]): Promise<World> {
    const dns = await TestDnsServer.start()
    const pods = await startPods(ADDRESSES)
    const staticPod = new Pod('127.0.0.1')
    await staticPod.listen(0)
    const w = new World(dns, pods, staticPod, settings, records)
    try {
      await w.#start(records)
    } catch (err) {
      await w.close()
      throw err
    }
    return w
  }

  #config (): GatewayConfig {
    const s = this.model.settings
    const staticUrl = `http://127.0.0.1:${(this.staticPod.server.address() as { port: number }).port}`
    return {
      log: { level: 'warn' },
      pools: {
        dns: {
          targets: [{ dns: NAMES[s.name], port: this.port, refreshMs: s.refreshMs }],
          ...(s.health ? { healthCheck: HEALTH } : {}),
          // short ejections, so a restarted pod is back within a step; no breaker: a case with most pods dead would
          // open it and refuse the steps after (operator chaos covers the breaker)
          outlier: { baseEjectionMs: 150, maxEjectionMs: 300 },
          circuitBreaker: { enabled: false },
        },
        static: { targets: [staticUrl] },
      },
      routes: [{ path: '/dns', pool: 'dns' }, { path: '/static', pool: 'static' }],
    } as GatewayConfig
  }

  async #start (records: Address[]): Promise<void> {
    this.#intervals = watchBreakerIntervals()
    this.dns.set(NAMES[this.model.settings.name], { a: records })
    this.gw = await startGateway(this.#config(), {
      dnsServers: [this.dns.address],
      defaultMetrics: false,
      load: async () => validateConfig(this.#config()),
    })
    this.admin = await this.gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    await waitFor(() => this.gw.gateway.readiness() === 'ready', 3000)
    this.#static = this.gw.gateway.pools().get('static')!
    this.timeline.follow(this.gw.gateway.pools().get('dns')!)
    await this.#settle('start')
    this.load = Load.start({
      url: this.gw.url,
      concurrency: DNS_LOOPS + 1,
      durationMs: 120_000,
      path: (loop, seq) => (loop === 0 ? `/static/${seq}` : `/dns/${seq}`),
      pauseMs: 1,
      timeoutMs: 8000,
    })
    this.#steadyFrom = Date.now()
  }

  #steadyFrom = 0

  fail (message: string): never {
    throw new Violation(`${message}\n  after: ${this.trail.join(' → ') || '(no step)'}`)
  }

  async run (steps: readonly Step[]): Promise<void> {
    for (const [i, step] of steps.entries()) await this.step(i, step)
  }

  async step (i: number, step: Step): Promise<void> {
    const { model } = this
    const from = Date.now()
    this.timeline.window({ from: this.#steadyFrom, to: from, safe: model.eligible().length > 0, risky: model.deadCandidates().length >= ATTEMPTS, servable: new Set(model.servable()), step: i - 1, what: 'steady' })
    const pre = { applied: [...model.applied], eligible: model.eligible(), dead: model.deadCandidates().length, servable: model.servable(), ops: new Map(model.ops) }
    const dnsName = NAMES[model.settings.name]
    const want = model.apply(step)
    const queriesBefore = this.dns.count(NAMES[model.settings.name], 'A')
    this.trail.push(`+${from - this.#t0}ms ${describe(step)}`)
    switch (step.kind) {
      case 'add': case 'remove': this.dns.set(dnsName, { a: model.answerOf(model.settings.name) }); break
      case 'replace': this.dns.set(NAMES[step.name], { a: step.addresses }); break
      case 'nxdomain': this.dns.delete(NAMES[step.name]); break
      case 'mode': this.dns.mode = step.mode; break
      case 'slow': this.dns.delayMs = step.delayMs; break
      case 'ttl': this.dns.ttl = step.ttl; break
      case 'health': this.pods.get(step.address)!.unhealthy = step.unhealthy; break
      case 'kill': await this.pods.get(step.address)!.close(); break
      case 'restart': if (!this.pods.get(step.address)!.alive) await this.pods.get(step.address)!.restart(this.port); break
      case 'wait': await sleep(step.ms); break
      case 'reload': {
        const names = [step.name, ...(step.then ? [step.then.name] : [])]
        // the model has both settings applied: the first reload must load the first ones
        const last = this.model.settings
        this.model.settings = { name: step.name, refreshMs: step.refreshMs, health: step.health }
        await this.#reload()
        this.model.settings = last
        if (step.then) await this.#reload()
        for (const n of names) this.#dropped.delete(NAMES[n])
        break
      }
      case 'drain': case 'disable': case 'enable': {
        const id = encodeURIComponent(`${step.address}:${this.port}`)
        const res = await call(this.admin, 'POST', `/pools/dns/targets/${id}/${step.kind}`)
        if (res.status !== want) this.fail(`POST …/${step.kind} of ${step.address} answered ${res.status} ${JSON.stringify(res.body)}, expected ${want}`)
        break
      }
    }
    await this.#settle(describe(step), queriesBefore)
    if (step.kind === 'reload') {
      for (const n of Object.values(NAMES)) if (n !== NAMES[model.settings.name] && !this.#dropped.has(n)) this.#dropped.set(n, this.#asked(n))
    }
    const to = Date.now()
    // between the state before and after: a checked pool lets a new address in only after its first passing probe
    const post = model.eligible()
    const joined = new Set(model.applied.filter((a) => !pre.applied.includes(a)))
    const mid = model.settings.health ? post.filter((a) => !joined.has(a)) : post
    const safe = pre.eligible.length > 0 && post.length > 0 && mid.length > 0
    const risky = pre.dead >= ATTEMPTS || model.deadCandidates().length >= ATTEMPTS
    // a rebuilt pool serves the old addresses until its first lookups end, with their drain and disable; a pool
    // rebuilt without checks drops their verdicts, and one that has them again starts from there until probes fail
    const unchecked = step.kind === 'reload' && (!step.health || (step.then !== undefined && !step.then.health))
    const warming = step.kind === 'reload'
      ? pre.applied.filter((a) => !(pre.ops.get(a)?.disabled ?? false) && !(pre.ops.get(a)?.draining ?? false) && (unchecked || !model.unhealthy.has(a)))
      : []
    // a reload followed by another runs the first one's name for a moment: its first answer serves at once (a renamed
    // name's does), so a request may reach one of its addresses before the second reload replaces it
    const between = step.kind === 'reload' && step.then !== undefined && model.answering
      ? model.answerOf(step.name).filter((a) => !(pre.ops.get(a)?.disabled ?? false) && !(pre.ops.get(a)?.draining ?? false))
      : []
    this.timeline.window({ from, to, safe, risky, servable: new Set([...pre.servable, ...warming, ...between, ...model.servable()]), step: i, what: describe(step) })
    this.#steadyFrom = to
  }

  /**
   * Waits until the gateway agrees with the model: /status lists exactly the targets of the applied answer, each
   * in its expected state, and (after a DNS change) the resolver has been asked again, so a change that must not
   * move the set (a failure, a TTL) has been seen and kept. Then checks the admin API says the same.
   */
  async #settle (what: string, queriesBefore?: number): Promise<void> {
    const name = NAMES[this.model.settings.name]
    // a hung query is asked once per try; an answered one is asked again every refreshMs
    const lookups = this.model.mode === 'hang' ? 1 : 2
    const problems = (): string[] => {
      const out = this.#disagreements(this.gw.gateway.status().pools)
      if (queriesBefore !== undefined && this.dns.count(name, 'A') < queriesBefore + lookups) out.push(`${name} asked ${this.dns.count(name, 'A') - queriesBefore} times since the step`)
      return out
    }
    try {
      await waitFor(() => problems().length === 0, SETTLE_MS, 5)
    } catch {
      this.fail(`after ${what} the gateway never agreed with the model: ${problems().join('; ')}`)
    }
    const res = await call(this.admin, 'GET', '/status')
    if (res.status !== 200) this.fail(`GET /status answered ${res.status}`)
    const wrong = this.#disagreements((res.body as { pools: ReturnType<TestGateway['gateway']['status']>['pools'] }).pools)
    if (wrong.length > 0) this.fail(`after ${what} GET /status disagrees with the model: ${wrong.join('; ')}`)
  }

  #disagreements (pools: ReturnType<TestGateway['gateway']['status']>['pools']): string[] {
    const out: string[] = []
    const expected = this.model.expected()
    const listed = new Map((pools.dns?.targets ?? []).map((t) => [t.id, t.state]))
    for (const [address, states] of expected) {
      const got = listed.get(`${address}:${this.port}`)
      if (got === undefined || !(states as readonly string[]).includes(got)) out.push(`${address} is ${got ?? 'not listed'}, expected ${states.join(' or ')}`)
    }
    for (const [id, state] of listed) if (!expected.has(id.replace(/:\d+$/, '') as Address)) out.push(`${id} listed (${state}), not in the answer`)
    const st = pools.static?.targets ?? []
    if (st.length !== 1 || st[0]!.state !== 'healthy') out.push(`static pool shows ${JSON.stringify(st.map((t) => [t.id, t.state]))}`)
    return out
  }

  /** Stops the load, then checks every answer, and what the gateway keeps once idle. */
  async finish (): Promise<void> {
    const end = Date.now()
    this.timeline.window({ from: this.#steadyFrom, to: end + 10_000, safe: this.model.eligible().length > 0, risky: this.model.deadCandidates().length >= ATTEMPTS, servable: new Set(this.model.servable()), step: this.trail.length - 1, what: 'steady' })
    const records = await this.load.stop()
    this.#checkTraffic(records)
    await this.#checkAftermath()
  }

  #checkTraffic (records: Awaited<ReturnType<Load['stop']>>): void {
    let dnsOk = 0
    for (const r of records) {
      const ok = r.status !== undefined && r.status >= 200 && r.status < 300 && r.error === undefined
      const at = `+${r.startedAt - this.#t0}..${r.endedAt - this.#t0}ms`
      if (r.path.startsWith('/static/')) {
        if (!ok || r.upstream !== '127.0.0.1') this.fail(`static pool disturbed: ${r.path} ${at} answered ${r.status ?? '-'} ${r.errorCode ?? r.error ?? ''} by ${r.upstream ?? '-'}`)
        continue
      }
      if (ok) {
        dnsOk++
        if (r.upstream === undefined || !this.timeline.wasAvailable(r.upstream, r.startedAt, r.endedAt)) {
          this.fail(`${r.path} ${at} was answered by ${r.upstream ?? '-'}, which the pool did not have available then`)
        }
        // and by one the model allowed then: in the answer, not drained, disabled or failing its checks
        if (!this.timeline.overlapping(r.startedAt, r.endedAt).some((w) => w.servable.has(r.upstream!))) {
          this.fail(`${r.path} ${at} was answered by ${r.upstream}, which was out of the answer, drained, disabled or unhealthy all along`)
        }
        continue
      }
      const windows = this.timeline.overlapping(r.startedAt, r.endedAt)
      // no_available_target when no address was up; upstream_unreachable too, or when the dead could take every try
      const excused = (r.errorCode === 'no_available_target' && windows.some((w) => !w.safe)) ||
        (r.errorCode === 'upstream_unreachable' && windows.some((w) => !w.safe || w.risky))
      if (!excused) {
        this.fail(`${r.path} ${at} failed: ${r.status ?? '-'} ${r.errorCode ?? r.error ?? ''}, during ${windows.map((w) => `#${w.step} ${w.what} (${w.safe ? 'an address up' : 'none up'})`).join(', ')}`)
      }
    }
    // the load really ran: a case with time to serve has successes (not a vacuous pass)
    const safeMs = this.timeline.windows.filter((w) => w.safe && w.to < Infinity).reduce((sum, w) => sum + Math.min(w.to, Date.now()) - w.from, 0)
    if (dnsOk === 0 && safeMs > 300) this.fail(`no request to the discovered pool succeeded in ${safeMs} ms with an address up`)
  }

  async #checkAftermath (): Promise<void> {
    const g = this.gw.gateway
    const runtime = g.pools().get('dns')!
    const current = new Set(this.model.applied)
    const eventually = async (what: string, problems: () => string[] | Promise<string[]>, ms = 3000): Promise<void> => {
      try {
        await waitFor(async () => (await problems()).length === 0, ms, 20)
      } catch {
        this.fail(`${what}: ${(await problems()).join('; ')}`)
      }
    }
    await eventually('not idle after the load stopped', () => {
      const out: string[] = []
      if (g.proxy.active !== 0) out.push(`${g.proxy.active} requests active`)
      if (runtime.pool.retiring.length > 0) out.push(`still retiring ${runtime.pool.retiring.map((t) => t.id).join()}`)
      for (const [address, pod] of this.pods) {
        // traffic loops, plus one probe connection when the pool is checked
        const bound = current.has(address as Address) ? DNS_LOOPS + 1 : 0
        if (pod.openSockets > bound) out.push(`${address} has ${pod.openSockets} connections open (at most ${bound})`)
      }
      return out
    })
    const checked = this.model.settings.health ? runtime.pool.targets.length : 0
    await eventually('probe schedules outlive their targets', () => {
      const scheduled = slotTimersFor(systemClock).scheduled
      return scheduled > checked ? [`${scheduled} health probes scheduled for ${checked} checked targets`] : []
    }, 1000)
    const breakers = [...g.pools().values()].filter((r) => r.config.circuitBreaker.enabled).length
    await eventually('breakers outlive their pools', () => this.#intervals.live.size === breakers ? [] : [`${this.#intervals.live.size} breaker intervals for ${breakers} pools with one`])
    const ids = (addresses: Iterable<string>): Set<string> => new Set([...addresses].map((a) => `${a}:${this.port}`))
    const keep = ids(current)
    // metrics and the dashboard's history: no series or counters left for an address the pool no longer has
    const text = await g.metrics!.render()
    const stale = new Set<string>()
    for (const m of text.matchAll(/^switchyard_\w+\{[^}]*pool="dns"[^}]*target="([^"]+)"/gm)) if (!keep.has(m[1]!)) stale.add(m[1]!)
    if (stale.size > 0) this.fail(`metrics keep series for addresses the pool no longer has: ${[...stale].join(' ')}`)
    const history = await call(this.admin, 'GET', '/history')
    const tracked = Object.keys((history.body as { targets: Record<string, Record<string, unknown>> }).targets.dns ?? {})
    const left = tracked.filter((id) => !keep.has(id))
    if (left.length > 0) this.fail(`the dashboard history keeps addresses the pool no longer has: ${left.join(' ')}`)
    // a name no longer configured is no longer looked up
    for (const [name, asked] of this.#dropped) {
      if (this.#asked(name) > asked) this.fail(`${name} is no longer configured but was looked up ${this.#asked(name) - asked} more times`)
    }
    await this.#checkCollected()
    // the static pool's runtime was never rebuilt and took no failure
    if (g.pools().get('static') !== this.#static) this.fail('the static pool was rebuilt')
    // the event feed logs a pool left with no target at error level: expected once some state had none up
    const emptied = this.timeline.windows.some((w) => !w.safe)
    const errors = this.gw.logs.filter((l) => l.level >= 50 && !(emptied && l.msg === 'no target available'))
    if (errors.length > 0) this.fail(`errors logged: ${errors.map((l) => l.msg).join('; ')}`)
  }

  /** In-process, so the new pool is followed before any of its lookups can answer. */
  async #reload (): Promise<void> {
    const result = await this.gw.gateway.reload('admin')
    if (result.result !== 'success' && result.result !== 'unchanged') this.fail(`reload answered ${result.result}: ${JSON.stringify(result.problems)}`)
    if (this.gw.gateway.pools().get('static') !== this.#static) this.fail('a reload of the discovered pool rebuilt the static pool')
    this.timeline.follow(this.gw.gateway.pools().get('dns')!)
  }

  /**
   * A target whose address left the pool is garbage once its requests ended: nothing (outlier counters, probe state,
   * discovery, a retired pool) keeps it. Balancers keep what they precomputed for the last list or two (bounded).
   */
  async #checkCollected (): Promise<void> {
    const kept = (): string[] => {
      const current = new Set<Target>(this.timeline.recentCandidates())
      for (const runtime of this.gw.gateway.pools().values()) for (const t of runtime.pool.targets) current.add(t)
      const out: string[] = []
      for (const ref of this.timeline.targets) {
        const t = ref.deref()
        if (t !== undefined && !current.has(t)) out.push(t.id)
      }
      return out
    }
    await waitUntilCollected(kept, (held) => this.fail(`targets no longer in the pool are still held: ${held.join(' ')}`))
  }

  #asked (name: string): number {
    return this.dns.count(name, 'A') + this.dns.count(name, 'AAAA')
  }

  async close (): Promise<void> {
    await this.load?.stop()
    await this.gw?.close()
    this.#intervals?.restore()
    await this.dns.close()
    await Promise.all([...this.pods.values(), this.staticPod].map((p) => p.close()))
  }
}
