// One case of the read/write split chaos: a primary and three replicas (real servers), a gateway whose wall clock
// the test steps, an admin listener, and the clients. step() changes the environment and waits until health
// checks have had their look at it, or runs a batch of client requests (all clients at once, each in order) and
// judges every answer against the model.
import { Agent, request } from 'node:http'
import type { GatewayConfig } from '../../../src/config/schema.ts'
import { validateConfig } from '../../../src/config/validate.ts'
import type { ProbeResult } from '../../../src/health/active.ts'
import type { Clock } from '../../../src/runtime.ts'
import type { TargetStatus } from '../../../src/upstream/status.ts'
import type { Target } from '../../../src/upstream/target.ts'
import { startGateway, waitFor, type TestGateway } from '../../helpers/gateway.ts'
import { TestUpstream } from '../../helpers/upstream.ts'
import { describeReplicas, judge, Model, type Observed } from './model.ts'
import { describeReads, describeStep, POOL_OF, REPLICAS, type Fault, type Op, type ReadsModel, type Replica, type Scenario, type Step } from './scenario.ts'
import { Client, pinned, ROUTE_PATH, SECRET, SKEW_MS } from './tokens.ts'

export class Violation extends Error {}

/** Real timers, and a wall clock the test steps forward (as NTP would): windows pass without sleeping. */
class SteppedClock implements Clock {
  offset = 0
  now (): number { return Date.now() + this.offset }
  monotonicNow (): number { return performance.now() }
  setTimeout (callback: () => void, ms: number): NodeJS.Timeout { return setTimeout(callback, ms) }
  clearTimeout (timer: unknown): void { clearTimeout(timer as NodeJS.Timeout | undefined) }
}

// two failed probes take a replica out: one probe that a stall of this busy machine made late must not (the model
// would not know); settle() waits for three rounds
const HEALTH = { path: '/health', intervalMs: 50, timeoutMs: 50, healthyThreshold: 1, unhealthyThreshold: 2, jitter: 0 }
// outlier ejection off on the replicas: a replica that failed and came back is in rotation at once, as the model has
// it (ejection has its own tests); breakers open only when a step opens them
const REPLICA_POOL = {
  healthCheck: HEALTH,
  outlier: { enabled: false },
  circuitBreaker: { volumeThreshold: 1_000_000, resetTimeoutMs: 600_000 },
  retry: { attempts: 2, perTryTimeoutMs: 150, backoff: { baseMs: 1, maxMs: 2 } },
  timeouts: { requestMs: 2000 },
}

export class World {
  readonly #ups = new Map<string, TestUpstream>()
  readonly #clock = new SteppedClock()
  readonly #clients: Client[]
  readonly #agents: Agent[] = []
  readonly #model: Model
  readonly #tag: string
  readonly trail: string[] = []
  readonly observed: Observed[] = []
  /** Batches judged knowing that reads may have fallen back for a stall of this machine (see #traffic). */
  hiccups = 0
  #gw!: TestGateway
  #admin = ''
  #next = 0
  #config: ReadsModel | null
  /** The longer read-your-writes window the reloads so far left the gateway accepting (see windowAfter). */
  #longer: LongerWindow | undefined

  private constructor (s: Scenario, tag: string) {
    this.#tag = tag
    this.#model = new Model(s.initial)
    this.#config = s.initial
    this.#clients = s.clients.map((kind, i) => new Client(kind, i))
  }

  static async start (s: Scenario, tag: string): Promise<World> {
    const w = new World(s, tag)
    try {
      for (const name of ['primary', ...REPLICAS]) w.#ups.set(name, await TestUpstream.start({ name }))
      // every replica reports its lag (0 until a step says otherwise): under maxLagMs one that reports none takes no reads
      for (const r of REPLICAS) w.#ups.get(r)!.healthHeaders = { 'x-replication-lag-ms': '0' }
      w.#gw = await startGateway(w.#gatewayConfig(s.initial), { clock: w.#clock, defaultMetrics: false, load: async () => validateConfig(w.#gatewayConfig(w.#config)) })
      w.#admin = await w.#gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
      await waitFor(() => w.#gw.gateway.readiness() === 'ready', 3000)
      // ready after the first round of probes, passed or not: on a loaded machine one may time out, and a replica
      // whose lag was never reported is lagging (without maxLagMs it is not, but a reload that sets one would find
      // its lag unknown). The model starts from every replica having reported 0.
      await waitFor(() => w.#everyReplicaPassed() && w.#lagAsModelled(), 10000)
    } catch (err) {
      await w.close()
      throw err
    }
    return w
  }

  get gateway (): TestGateway { return this.#gw }

  #everyReplicaPassed (): boolean {
    return REPLICAS.every((r) => {
      const runtime = this.#gw.gateway.pools().get(POOL_OF[r])!
      return runtime.health!.lastResult(runtime.pool.targets.find((x) => x.url === this.#url(r))!)?.ok === true
    })
  }

  #url (name: string): string { return this.#ups.get(name)!.url }
  #nameOf (url: string): Replica | undefined { return REPLICAS.find((r) => this.#ups.get(r)!.url === url) }

  #gatewayConfig (reads: ReadsModel | null): GatewayConfig {
    const split = reads === null ? {} : { reads: { pool: reads.pool, methods: reads.methods, stickyAfterWriteMs: reads.stickyAfterWriteMs, ...(reads.maxLagMs !== undefined ? { maxLagMs: reads.maxLagMs } : {}) } }
    const route = { name: 'data', path: ROUTE_PATH, pool: 'primary', ...split }
    return {
      secret: SECRET,
      log: { level: 'info' },
      pools: {
        primary: { targets: [this.#url('primary')], circuitBreaker: { volumeThreshold: 1_000_000 }, timeouts: { requestMs: 2000 } },
        replicas: { targets: [this.#url('r1'), this.#url('r2')], ...REPLICA_POOL },
        // one replica, one attempt: nothing to retry within the pool, the fallback alone saves a read
        replicasB: { targets: [this.#url('r3')], ...REPLICA_POOL, retry: { ...REPLICA_POOL.retry, attempts: 1 } },
      },
      routes: [route],
    } as GatewayConfig
  }

  #fail (message: string): never {
    throw new Violation(`${message}\n  after: ${this.trail.join(' → ')}\n  state: ${describeReplicas(this.#model)}; reads ${describeReads(this.#model.reads)}`)
  }

  async run (steps: readonly Step[]): Promise<void> {
    for (const s of steps) {
      this.trail.push(describeStep(s))
      await this.#step(s)
    }
    this.#checkInternalErrors()
  }

  async #step (s: Step): Promise<void> {
    const m = this.#model
    switch (s.kind) {
      case 'traffic': return this.#traffic(s.ops, s.reloadMidway)
      case 'lag': {
        const u = this.#ups.get(s.replica)!
        u.healthHeaders = { 'x-replication-lag-ms': String(s.lagMs) }
        m.replicas.get(s.replica)!.lagMs = s.lagMs
        return this.#settle()
      }
      // health checks see a refused replica (and one that comes back from it) only: the other faults need no wait
      case 'fail': {
        const refused = await this.#breakReplica(s.replica, s.fault)
        return refused ? this.#settle() : undefined
      }
      case 'outage': {
        let refused = false
        // 'read-pool': the pool the route reads from now (the replicas, when the split is off)
        const pool = s.pool === 'read-pool' ? m.reads?.pool ?? 'replicas' : s.pool
        for (const r of REPLICAS.filter((x) => POOL_OF[x] === pool)) {
          if (s.fault === undefined) refused = await this.#recover(r) || refused
          else refused = await this.#breakReplica(r, s.fault) || refused
        }
        return refused ? this.#settle() : undefined
      }
      case 'recover':
        return await this.#recover(s.replica) ? this.#settle() : undefined
      case 'primary': {
        const p = this.#ups.get('primary')!
        if (s.down && !m.primaryDown) await p.refuse()
        if (!s.down && m.primaryDown) await p.restore()
        m.primaryDown = s.down
        return
      }
      case 'breaker':
        this.#gw.gateway.pools().get(s.pool)!.breaker.force(s.state)
        if (s.state === 'open') m.breakerOpen.add(s.pool)
        else m.breakerOpen.delete(s.pool)
        return
      case 'admin': {
        const id = new URL(this.#url(s.replica)).host
        const res = await call(this.#admin, 'POST', `/pools/${POOL_OF[s.replica]}/targets/${encodeURIComponent(id)}/${s.action}`)
        if (res.status !== 200) this.#fail(`admin ${s.action} ${s.replica} answered ${res.status}`)
        m.replicas.get(s.replica)!.admin = s.action === 'enable' ? 'in' : s.action === 'drain' ? 'drained' : 'disabled'
        return
      }
      // no wait: a new maxLagMs applies to the lag last reported at once (a lag forgotten is lagging)
      case 'reload':
        return this.#reload(s.reads)
      case 'clock':
        this.#clock.offset += s.ms
    }
  }

  async #reload (reads: ReadsModel | null): Promise<void> {
    // the gateway's clock as the reload begins: the kept window's end is then a few ms before the gateway's (no token
    // minted before the reload is still valid by then)
    const at = this.#clock.now()
    this.#config = reads
    const result = await this.#gw.gateway.reload('admin')
    if (result.result === 'error') this.#fail(`reload to ${describeReads(reads)} was refused: ${JSON.stringify(result.problems)}`)
    // an unchanged config builds no new plan: the window kept stays as it was
    if (result.result !== 'unchanged') this.#longer = windowAfter(this.#model.reads, reads, at, this.#longer)
    this.#model.reloaded(reads)
    this.#checkLagging('the reload')
  }

  /** The window within which a token's expiry must lie at `now` (the gateway's clock) to pin. */
  #windowAt (now: number): number {
    const longer = this.#longer
    return longer !== undefined && now < longer.until ? longer.ms : this.#model.reads?.stickyAfterWriteMs ?? 0
  }

  /**
   * The gateway marks lagging exactly the replicas the model says are (the reads pool's, past its maxLagMs or with
   * their lag forgotten, as last judged): at once after a reload, with no probe in between, as after the probes
   * that reported the lag.
   */
  #checkLagging (after: string): void {
    const r = this.#lagNotAsModelled()
    if (r === undefined) return
    const seen = this.#model.replicas.get(r.replica)!.seenLagMs
    this.#fail(`after ${after}, ${r.replica} is ${r.expected ? 'not ' : ''}lagging in the gateway (reported lag ${seen === undefined ? 'unknown' : `${seen} ms`})`)
  }

  #lagAsModelled (): boolean { return this.#lagNotAsModelled() === undefined }

  /** The first replica whose lagging state in the gateway differs from the model's, and what the model expects. */
  #lagNotAsModelled (): { replica: Replica; expected: boolean } | undefined {
    for (const r of REPLICAS) {
      const runtime = this.#gw.gateway.pools().get(POOL_OF[r])!
      const target = runtime.pool.targets.find((x) => x.url === this.#url(r))!
      const expected = this.#model.replicas.get(r)!.lagging
      if (runtime.pool.status(target).lagging !== expected) return { replica: r, expected }
    }
    return undefined
  }

  /** True when a refusal began or ended: what health checks see. */
  async #breakReplica (r: Replica, fault: Fault): Promise<boolean> {
    const u = this.#ups.get(r)!
    const restored = await this.#recover(r)
    if (fault === 'refuse') await u.refuse()
    else if (fault === 'reset') u.mode = 'reset-before-response'
    else if (fault === 'hang') u.mode = 'hang'
    else { u.failCount = 1e9; u.failStatus = 503 }
    this.#model.replicas.get(r)!.fault = fault
    return restored || fault === 'refuse'
  }

  /** True when the replica was refusing. */
  async #recover (r: Replica): Promise<boolean> {
    const u = this.#ups.get(r)!
    const s = this.#model.replicas.get(r)!
    const refused = s.fault === 'refuse'
    if (refused) await u.restore()
    u.mode = 'answer'
    u.failCount = 0
    s.fault = undefined
    return refused
  }

  /**
   * Waits until every replica has been probed three times since the change (probes of one target run one after
   * the other, so the second and third began after it): the gateway has then seen what the thresholds let it see.
   */
  async #settle (): Promise<void> {
    const runtimes = [...this.#gw.gateway.pools().values()].filter((p) => p.health !== undefined)
    const last = (): Array<ProbeResult | undefined> => runtimes.flatMap((p) => p.pool.targets.map((t) => p.health!.lastResult(t)))
    for (let round = 0; round < 3; round++) {
      const before = last()
      await waitFor(() => last().every((r, i) => r !== before[i]), 3000, 5).catch(() => this.#fail('health checks stopped probing'))
    }
    this.#model.probed()
    this.#checkLagging('the probes')
  }

  async #traffic (ops: Op[][], reloadMidway: ReadsModel | null | undefined): Promise<void> {
    const before = this.#model.reads
    const batch: Array<{ o: Observed; reads: ReadsModel | null }> = []
    // A replica that health checks took out although it is up (two probes late), or an attempt at a replica that is
    // not hanging that still outlived the 150 ms per-try timeout (this busy machine stalled), sends reads to the
    // primary rightly: such a batch may fall back, and the count says how often it happened.
    const timeoutsBefore = await this.#replicaTimeouts()
    let hiccup = false
    const onStatus = (target: Target, status: TargetStatus): void => {
      const name = this.#nameOf(target.url)
      if (!status.healthy && name !== undefined && this.#model.replicas.get(name)!.fault !== 'refuse') hiccup = true
    }
    const pools = ['replicas', 'replicasB'].map((p) => this.#gw.gateway.pools().get(p)!.pool)
    for (const p of pools) p.on('status', onStatus)
    const unhealthyBefore = pools.some((p) => p.targets.some((x) => !p.status(x).healthy && this.#model.replicas.get(this.#nameOf(x.url)!)!.fault !== 'refuse'))
    const runs = this.#clients.map(async (c, i) => {
      for (const op of ops[i] ?? []) batch.push(await this.#send(c, op, reloadMidway !== undefined))
    })
    if (reloadMidway !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, 2))
      try {
        await this.#reload(reloadMidway)
      } catch (err) {
        // the batch ends before the case does: closing the world under its requests hung the case until tap's
        // timeout, and the violation was never told
        await Promise.allSettled(runs)
        throw err
      }
    }
    await Promise.all(runs)
    const timeoutsAfter = await this.#replicaTimeouts()
    if (REPLICAS.some((r) => this.#model.replicas.get(r)!.fault !== 'hang' && timeoutsAfter.get(r)! > timeoutsBefore.get(r)!)) hiccup = true
    for (const p of pools) p.off('status', onStatus)
    if (hiccup || unhealthyBefore) this.hiccups++
    this.observed.push(...batch.map((b) => b.o))
    for (const { o, reads } of batch) {
      const model = hiccup || unhealthyBefore ? this.#model.withHiccup() : this.#model
      const why = reloadMidway === undefined ? judge(model, o, reads) : judgeEither(model, o, before, reloadMidway)
      if (why !== undefined) {
        // its access-log line says what the gateway did (lines are flushed at least every 100 ms)
        await new Promise((resolve) => setTimeout(resolve, 150))
        const line = this.#gw.accessLogs().find((l) => l.requestId === o.id)
        this.#fail(`${o.id} ${o.method} (client ${o.client}, ${this.#clients[o.client]!.kind}${o.pinned === true ? ', pinned' : o.pinned === undefined ? ', near an edge' : ''}): ${why}; reached ${o.reached.join(',') || 'nothing'}\n  logged: ${JSON.stringify(line)}`)
      }
    }
  }

  async #send (c: Client, op: Op, overlapped: boolean): Promise<{ o: Observed; reads: ReadsModel | null }> {
    const reads = this.#model.reads
    const id = `${this.#tag}-${++this.#next}`
    const stickyMs = reads?.stickyAfterWriteMs ?? 30_000
    const sentAt = this.#clock.now()
    const { headers, ownSent } = c.headers(op.tamper, sentAt, stickyMs)
    const agent = this.#agents[c.index] ??= new Agent({ keepAlive: true, maxSockets: 1 })
    const hasBody = op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH'
    const answer = await exchange(`${this.#gw.url}${ROUTE_PATH}/items/${c.index}`, op.method, { ...headers, 'x-request-id': id, ...(hasBody ? { 'content-type': 'application/json' } : {}) }, hasBody ? '{"v":1}' : undefined, agent)
    const isPinned = reads === null ? false : pinned(c, ownSent, sentAt, this.#clock.now(), (now) => this.#windowAt(now))
    const o: Observed = {
      id,
      client: c.index,
      method: op.method,
      status: answer.status,
      code: answer.code,
      servedBy: answer.upstream,
      clientError: answer.error,
      reached: [...this.#ups].filter(([, u]) => u.requests.some((r) => r.headers['x-request-id'] === id)).map(([name]) => name),
      setCookie: (answer.setCookie ?? []).some((l) => l.startsWith('sy_rw=')),
      writeHeader: answer.writeHeader !== undefined,
      ownSent,
      tamper: op.tamper,
      pinned: overlapped ? undefined : isPinned,
      read: overlapped ? undefined : this.#model.isRead(op.method, reads),
      overlapped,
    }
    if (answer.status < 400 && answer.status > 0) c.remember(answer.setCookie, answer.writeHeader)
    return { o, reads }
  }

  /** Attempts at each replica that timed out, from the gateway's metrics. */
  async #replicaTimeouts (): Promise<Map<Replica, number>> {
    const text = await this.#gw.gateway.metrics!.render()
    return new Map(REPLICAS.map((r) => {
      const series = `switchyard_upstream_attempts_total{pool="${POOL_OF[r]}",target="${new URL(this.#url(r)).host}",outcome="timeout"} `
      const at = text.indexOf(series)
      return [r, at < 0 ? 0 : Number.parseInt(text.slice(at + series.length), 10)]
    }))
  }

  /** The access log names the pool and target that served each request (lines are written in batches). */
  async checkAccessLog (): Promise<void> {
    const served = this.observed.filter((o) => o.status === 200 && o.servedBy !== undefined)
    const lineOf = (id: string): Record<string, unknown> | undefined => this.#gw.accessLogs().find((l) => l.requestId === id)
    await waitFor(() => this.observed.every((o) => lineOf(o.id) !== undefined), 3000).catch(() => this.#fail('an access-log line is missing'))
    // the only failure allowed (the primary down) is logged with its code, HEAD answers included
    for (const o of this.observed) {
      const error = lineOf(o.id)!.error
      if (o.status !== 200 && (o.status !== 502 || error !== 'upstream_unreachable')) this.#fail(`${o.id}: answered ${o.status}, logged error ${String(error)}`)
    }
    for (const o of served) {
      const line = lineOf(o.id)!
      const pool = o.servedBy === 'primary' ? 'primary' : POOL_OF[o.servedBy as Replica]
      if (line.pool !== pool || line.target !== this.#url(o.servedBy!)) this.#fail(`${o.id}: served by ${o.servedBy} (pool ${pool}) but logged pool ${String(line.pool)} target ${String(line.target)}`)
    }
  }

  #checkInternalErrors (): void {
    // a breaker opening is logged at error level too: only the gateway's own faults count here
    const errors = this.#gw.logs.filter((l) => l.error === 'internal_error' || l.msg === 'unexpected error while proxying')
    if (errors.length > 0) this.#fail(`the gateway logged errors: ${JSON.stringify(errors.slice(0, 2))}`)
  }

  /** The metrics agree with the reads the model says went to the primary for stickiness. */
  async checkMetrics (): Promise<void> {
    const text = await this.#gw.gateway.metrics!.render()
    const count = (reason: string): number => Number(new RegExp(`switchyard_reads_to_primary_total\\{route="data",reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
    const surelyPinned = this.observed.filter((o) => o.read === true && o.pinned === true).length
    const maybePinned = this.observed.filter((o) => o.read !== false && o.pinned !== false).length
    const sticky = count('sticky')
    if (sticky < surelyPinned || sticky > maybePinned) this.#fail(`reads_to_primary{reason="sticky"} is ${sticky}; the model has ${surelyPinned}-${maybePinned} pinned reads`)
    const fellBack = this.observed.filter((o) => o.read === true && o.pinned === false && o.servedBy === 'primary').length
    if (count('fallback') < fellBack) this.#fail(`reads_to_primary{reason="fallback"} is ${count('fallback')}; ${fellBack} reads that were not pinned were served by the primary`)
  }

  close (): Promise<unknown> {
    for (const a of this.#agents) a.destroy()
    return Promise.all([this.#gw?.close(), ...[...this.#ups.values()].map((u) => u.close())])
  }
}

interface LongerWindow { ms: number; until: number }

/**
 * The longer window the gateway keeps accepting after a reload from `before` to `after` at `now`: the longest of
 * the split's windows since it was last put in place, while tokens minted under it can still be valid (its end, plus
 * the skew), if longer than the new one. A reload that removes the split leaves no plan to carry it: put back, it
 * starts afresh. (src/release/read-after-write.ts #windowAfter; README: a reload that shortens the window keeps
 * the longer one for the tokens minted before it.)
 */
function windowAfter (before: ReadsModel | null, after: ReadsModel | null, now: number, kept: LongerWindow | undefined): LongerWindow | undefined {
  if (before === null || after === null) return undefined
  let window = { ms: before.stickyAfterWriteMs, until: now + before.stickyAfterWriteMs + SKEW_MS }
  if (kept !== undefined && now < kept.until && kept.ms > window.ms) window = { ms: kept.ms, until: Math.max(kept.until, window.until) }
  return window.ms > after.stickyAfterWriteMs ? window : undefined
}

/** A batch a reload overlapped: each request must keep the promises of the settings before or after it. */
function judgeEither (m: Model, o: Observed, before: ReadsModel | null, after: ReadsModel | null): string | undefined {
  const a = judge(m, o, before)
  if (a === undefined) return undefined
  const b = judge(m, o, after)
  return b === undefined ? undefined : `${a} (before the reload); ${b} (after it)`
}

interface Answer { status: number; code?: string; upstream?: string; setCookie?: string[]; writeHeader?: string; error?: string }

function exchange (url: string, method: string, headers: Record<string, string>, body: string | undefined, agent: Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url, { method, headers, agent, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }))
      res.once('end', () => {
        let code: string | undefined
        if ((res.statusCode ?? 0) >= 400 && String(res.headers['content-type'] ?? '').includes('json')) {
          try { code = (JSON.parse(Buffer.concat(chunks).toString()) as { error?: string }).error } catch {}
        }
        const upstream = res.headers['x-upstream']
        const writeHeader = res.headers['x-read-after-write']
        resolve({
          status: res.statusCode ?? 0,
          ...(code !== undefined ? { code } : {}),
          ...(typeof upstream === 'string' ? { upstream } : {}),
          ...(res.headers['set-cookie'] !== undefined ? { setCookie: res.headers['set-cookie'] } : {}),
          ...(typeof writeHeader === 'string' ? { writeHeader } : {}),
        })
      })
    })
    req.once('timeout', () => req.destroy(new Error('client timeout')))
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message }))
    req.end(body)
  })
}

function call (base: string, method: string, path: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method }, (res) => {
      res.resume()
      res.once('end', () => resolve({ status: res.statusCode ?? 0 }))
    })
    req.once('error', reject)
    req.end()
  })
}
