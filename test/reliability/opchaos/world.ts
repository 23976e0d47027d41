// One case of operator chaos: real upstreams, a real gateway started from a config file, steady client load, and
// the operator's model. step() runs an action (or two racing), checks the admin API's answer and that the gateway
// agrees with the model; finish() stops the load and runs the checks of traffic.ts and aftermath.ts.
import { writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'
import { startGateway, waitFor, type TestGateway } from '../../helpers/gateway.ts'
import { applyFile, describe, fileFor, transition, type Action, type Expect, type SingleAction } from './actions.ts'
import { checkClosed, checkCollected, checkIdle, checkMetrics, checkRecovery, checkTimers } from './aftermath.ts'
import { disagreements, expectedDiff, sameConfig, type Names } from './agreement.ts'
import type { CaseContext } from './context.ts'
import { watchBreakerIntervals, type IntervalWatch } from './intervals.ts'
import { Journal } from './journal.ts'
import { ClientLoad } from './load.ts'
import { cloneModel, configJson, fileText, initialConfig, poolOf, UPSTREAMS, type Model } from './model.ts'
import { Recorder } from './recorder.ts'
import { checkLogs, checkPeriods, checkTraffic } from './traffic.ts'
import { ChaosUpstream } from './upstream.ts'

export class Violation extends Error {}

interface Outcome { status?: number; body?: Record<string, unknown> }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export interface WorldOptions { dir: string; seed: number; tag: string; loops?: number }

export class World {
  readonly ups = new Map<string, ChaosUpstream>()
  readonly #byId = new Map<string, string>()
  readonly names: Names = { urlOf: (name) => this.ups.get(name)!.url, nameOf: (id) => this.#byId.get(id) ?? id }
  gw!: TestGateway
  admin = ''
  model!: Model
  recorder!: Recorder
  journal!: Journal
  load!: ClientLoad
  /** The actions run so far, for the report of a violation. */
  readonly trail: string[] = []
  readonly #file: string
  readonly #options: WorldOptions
  readonly #adminFailures: string[] = []
  #intervals: IntervalWatch | undefined
  #poller: Promise<void> | undefined
  #polling = false

  private constructor (options: WorldOptions) {
    this.#options = options
    this.#file = join(options.dir, `${options.tag}.config.json`)
  }

  static async start (options: WorldOptions): Promise<World> {
    const w = new World(options)
    try {
      await w.#start()
    } catch (err) {
      await w.close()
      throw err
    }
    return w
  }

  async #start (): Promise<void> {
    this.#intervals = watchBreakerIntervals()
    for (const name of UPSTREAMS) {
      const u = await ChaosUpstream.start(name, poolOf(name))
      this.ups.set(name, u)
      this.#byId.set(u.id, name)
    }
    const config = initialConfig()
    writeFileSync(this.#file, fileText({ kind: 'valid', config }, this.names.urlOf))
    this.gw = await startGateway(configJson(config, this.names.urlOf), { configFile: this.#file, defaultMetrics: false })
    this.admin = await this.gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
    await waitFor(() => this.gw.gateway.readiness() === 'ready', 3000)
    this.model = { config, ops: new Map(), hold: new Set(), canary: { weight: config.canaryWeight, source: 'file' } }
    this.journal = new Journal()
    this.recorder = new Recorder(this.gw.gateway, this.names.nameOf)
    this.recorder.start()
    this.journal.update(undefined, this.model, this.journal.t0, this.journal.t0, this.ups, (id) => this.recorder.inFlightBound(id))
    this.load = new ClientLoad(this.gw.url, { loops: this.#options.loops ?? 4, seed: this.#options.seed, tag: this.#options.tag })
    this.#polling = true
    this.#poller = this.#poll()
    await sleep(30)
  }

  readonly #fail: (message: string) => never = (message) => {
    throw new Violation(`${message}\n  after: ${this.trail.join(' → ') || '(no action)'}`)
  }

  /** /status and /readyz answer 200 all along, whatever the operators do. */
  async #poll (): Promise<void> {
    while (this.#polling) {
      for (const path of ['/status', '/readyz']) {
        const res = await call(this.admin, 'GET', path).catch((err: Error) => ({ status: 0, body: { error: err.message } }))
        if (res.status !== 200) this.#adminFailures.push(`GET ${path} answered ${res.status} ${JSON.stringify(res.body)}`)
      }
      await sleep(40)
    }
  }

  #context (): CaseContext {
    return { gw: this.gw, ups: this.ups, model: this.model, recorder: this.recorder, journal: this.journal, names: this.names, loops: this.#options.loops ?? 4, tag: this.#options.tag, fail: this.#fail }
  }

  async run (actions: readonly Action[]): Promise<void> {
    for (const a of actions) await this.step(a)
  }

  async step (a: Action): Promise<void> {
    const before = this.model
    const sentAt = Date.now()
    this.recorder.snap()
    if (a.kind === 'race') {
      const [oa, ob] = await Promise.all([this.#exec(a.a, before), this.#exec(a.b, before)])
      this.recorder.snap()
      this.trail.push(`+${sentAt - this.journal.t0}ms ${describe(a)} → ${oa.status ?? '-'}/${ob.status ?? '-'}`)
      this.model = this.#raceOutcome(before, a.a, a.b, oa, ob)
    } else {
      const tiers = new Map([...this.gw.gateway.pools()].map(([name, r]) => [name, r.config.failback === 'manual' ? r.pool.tier : undefined]))
      const outcome = await this.#exec(a, before)
      this.recorder.snap()
      this.trail.push(`+${sentAt - this.journal.t0}ms ${describe(a)} → ${outcome.status ?? '-'}`)
      const { model, expect } = settled(before, transition(before, a, sameConfig), outcome)
      const wrong = mismatch(expect, outcome)
      if (wrong !== undefined) this.#fail(`${describe(a)}: ${wrong}`)
      const problems = disagreements(this.gw.gateway, model, this.names)
      if (problems.length > 0) this.#fail(`the gateway disagrees with the operator after ${describe(a)}:\n  ${problems.join('\n  ')}`)
      if (a.kind === 'reload') this.#checkReload(a, outcome, expect, before, model, tiers)
      this.model = model
    }
    this.#adoptRollback()
    const doneAt = Date.now()
    if (!sameConfig(this.model.config, before.config)) this.journal.configChanged(sentAt, doneAt, this.model.config.pools.extra !== undefined)
    this.journal.update(before, this.model, sentAt, doneAt, this.ups, (id) => this.recorder.inFlightBound(id))
    if (this.#adminFailures.length > 0) this.#fail(this.#adminFailures[0]!)
    checkLogs(this.#context())
  }

  /** A reload reports what it changed; a pool failed over under failback 'manual' stays on its backups across it. */
  #checkReload (a: Extract<SingleAction, { kind: 'reload' }>, outcome: Outcome, expect: Expect | undefined, before: Model, after: Model, tiers: Map<string, string | undefined>): void {
    if (expect?.result === 'success') {
      const want = JSON.stringify(expectedDiff(before.config, after.config, this.names.urlOf))
      const got = outcome.body?.diff as Record<string, unknown> | undefined
      const seen = JSON.stringify(['routes', 'pools', 'targets'].map((k) => got?.[k]))
      if (seen !== want) this.#fail(`${describe(a)} reported the changes ${seen}, expected ${want}`)
    }
    for (const [name, tier] of tiers) {
      const runtime = this.gw.gateway.pools().get(name)
      const backupUp = runtime?.pool.targets.some((t) => t.backup && runtime.pool.state(t) === 'healthy') ?? false
      if (tier === 'backup' && runtime?.config.failback === 'manual' && backupUp && runtime.pool.tier !== 'backup') {
        this.#fail(`pool ${name}: the reload moved traffic from the backups to ${runtime.pool.tier} although failback is 'manual'`)
      }
    }
  }

  /** Two actions raced: the outcome must be that of one of their two serial orders. */
  #raceOutcome (before: Model, a: SingleAction, b: SingleAction, oa: Outcome, ob: Outcome): Model {
    if (a.kind === 'reload' && b.kind === 'reload') {
      // both files are written before either reload runs: every load reads b's file
      const { model, expect } = applyFile(cloneModel(before), fileFor(before.config, b.change), sameConfig)
      const answers = [oa, ob]
      const ok = expect.status === 422
        ? answers.every((o) => o.status === 422)
        : answers.every((o) => o.status === 200) && answers.some((o) => o.body?.result === expect.result) && answers.every((o) => o.body?.result === expect.result || o.body?.result === 'unchanged')
      if (!ok) this.#fail(`two racing reloads answered ${JSON.stringify(answers.map((o) => [o.status, o.body?.result]))}, expected ${JSON.stringify(expect)} for the file written last`)
      const problems = disagreements(this.gw.gateway, model, this.names)
      if (problems.length > 0) this.#fail(`after two racing reloads the gateway disagrees with the file written last:\n  ${problems.join('\n  ')}`)
      return model
    }
    const why: string[] = []
    for (const [first, o1, second, o2] of [[a, oa, b, ob], [b, ob, a, oa]] as const) {
      const s1 = settled(before, transition(before, first, sameConfig), o1)
      const s2 = settled(s1.model, transition(s1.model, second, sameConfig), o2)
      const wrong = mismatch(s1.expect, o1) ?? mismatch(s2.expect, o2)
      const problems = wrong !== undefined ? [wrong] : disagreements(this.gw.gateway, s2.model, this.names)
      if (problems.length === 0) return s2.model
      why.push(`${describe(first)} then ${describe(second)}: ${problems.join('; ')}`)
    }
    this.#fail(`race(${describe(a)}, ${describe(b)}) matches neither serial order:\n  ${why.join('\n  ')}`)
  }

  async #exec (a: SingleAction, model: Model): Promise<Outcome> {
    switch (a.kind) {
      case 'drain': case 'enable': case 'disable':
        return call(this.admin, 'POST', `/pools/${poolOf(a.target)}/targets/${encodeURIComponent(this.ups.get(a.target)!.id)}/${a.kind}`)
      case 'switchover':
        return call(this.admin, 'POST', `/pools/${a.pool}/switchover`, { to: 'backup' })
      case 'failback':
        return call(this.admin, 'POST', `/pools/${a.pool}/failback`)
      case 'canary':
        return call(this.admin, 'POST', '/routes/shop/canary', { weight: a.weight })
      case 'reload':
        writeFileSync(this.#file, fileText(fileFor(model.config, a.change), this.names.urlOf))
        return call(this.admin, 'POST', '/reload')
      case 'breaker':
        // not on the admin API: forced in-process, as an operator with a debugger would
        this.gw.gateway.pools().get(a.pool)?.breaker.force(a.state)
        return {}
      case 'outage': {
        await this.#exec({ kind: 'kill', target: a.target }, model)
        const noticed = (): boolean => {
          const runtime = this.gw.gateway.pools().get(poolOf(a.target))
          const t = runtime?.pool.targets.find((x) => this.names.nameOf(x.id) === a.target)
          return t === undefined || runtime!.pool.state(t) !== 'healthy'
        }
        await waitFor(noticed, 600, 10).catch(() => {})
        return {}
      }
      case 'kill': {
        const u = this.ups.get(a.target)!
        if (u.alive) this.journal.killed(a.target)
        await u.kill()
        return {}
      }
      case 'restart':
        await this.ups.get(a.target)!.restart()
        this.journal.restarted(a.target)
        return {}
      case 'wait':
        await sleep(a.ms)
        return {}
    }
  }

  /** A canary the gateway rolled back by itself is at weight 0 from now on. */
  #adoptRollback (): void {
    const canary = this.gw.gateway.status().routes.find((r) => r.name === 'shop')?.canary
    if (canary?.weightSource === 'rollback' && this.model.canary.source !== 'rollback') this.model = { ...this.model, canary: { weight: 0, source: 'rollback' } }
  }

  /**
   * A graceful shutdown under the load (SIGTERM): /readyz turns 503 at once, requests in flight finish, then
   * nothing is left behind. The traffic and the drains are checked as in finish().
   */
  async shutdown (): Promise<void> {
    this.#polling = false
    await this.#poller
    if (this.#adminFailures.length > 0) this.#fail(this.#adminFailures[0]!)
    this.trail.push(`+${Date.now() - this.journal.t0}ms shutdown`)
    const shutdownAt = Date.now()
    const done = this.gw.gateway.shutdown()
    const ready = await call(this.admin, 'GET', '/readyz')
    if (ready.status !== 503) this.#fail(`/readyz answered ${ready.status} while shutting down`)
    await done
    const records = await this.load.stop()
    const end = Date.now()
    const ctx = this.#context()
    checkLogs(ctx)
    checkTraffic(ctx, records, shutdownAt)
    this.journal.closeAll(end)
    checkPeriods(ctx, records)
    if (this.gw.gateway.proxy.active !== 0) this.#fail(`${this.gw.gateway.proxy.active} requests still active after the shutdown`)
    await checkClosed(ctx, this.#intervals!.live)
  }

  /** Stops the load and runs every end-of-case check. */
  async finish (): Promise<void> {
    const records = await this.load.stop()
    this.#polling = false
    await this.#poller
    if (this.#adminFailures.length > 0) this.#fail(this.#adminFailures[0]!)
    const end = Date.now()
    await sleep(60) // the last access-log lines
    // a rollback during the load after the last action (the model adopts one after each action only)
    this.#adoptRollback()
    const ctx = this.#context()
    checkLogs(ctx)
    checkTraffic(ctx, records)
    this.journal.closeAll(end)
    checkPeriods(ctx, records)
    await checkIdle(ctx)
    await checkMetrics(ctx)
    // the operator brings every upstream back: the gateway must find each one again
    for (const name of UPSTREAMS) if (!this.ups.get(name)!.alive) await this.#exec({ kind: 'restart', target: name }, this.model)
    await checkRecovery(ctx)
    this.recorder.stop()
    await checkTimers(ctx, this.#intervals!.live)
    await checkCollected(ctx)
    await checkClosed(ctx, this.#intervals!.live)
  }

  async close (): Promise<void> {
    this.#intervals?.restore()
    this.#polling = false
    this.recorder?.stop()
    await this.load?.stop()
    await this.#poller
    await this.gw?.close()
    await Promise.all([...this.ups.values()].map((u) => u.close()))
  }
}

/** A switchover or failback refused for want of an available target of its tier changes nothing: the model stays. */
function settled (before: Model, step: { model: Model; expect: Expect | undefined }, o: Outcome): { model: Model; expect: Expect | undefined } {
  const refused = step.expect?.refusable !== undefined && o.status === 409 && o.body?.error === step.expect.refusable
  return refused ? { model: cloneModel(before), expect: { status: 409 } } : step
}

function mismatch (expect: Expect | undefined, o: Outcome): string | undefined {
  if (expect === undefined) return undefined
  const view = o.body?.target as { state?: string } | undefined
  if (expect.retiring === true && o.status === 200 && ['draining', 'disabled', 'drained'].includes(String(view?.state))) return undefined
  if (o.status !== expect.status) return `answered ${o.status} ${JSON.stringify(o.body)}, expected ${expect.status}`
  if (expect.result !== undefined && o.body?.result !== expect.result) return `reload result ${String(o.body?.result)}, expected ${expect.result}`
  return undefined
}

function call (base: string, method: string, path: string, body?: unknown): Promise<Outcome> {
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, agent: false, headers: payload === undefined ? {} : { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('end', () => {
        let parsed: Record<string, unknown>
        try { parsed = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> } catch { parsed = {} }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.once('error', reject)
    req.end(payload)
  })
}
