// Mode `split`: read/write split under chaos. Route /m writes to `prim` and reads from `repl` (replicas reporting
// lag on /health), with a canary and a mirror that reloads switch on and off; route /o is plain with a mirror.
// Read-your-writes clients (cookie or header) write and read their own writes; plain readers read. Steps change
// the window, maxLagMs, the secret, the canary, the mirror and its pool, a replica's lag, the mirror's behaviour
// (answer, hang, fail, reset), the replica set, and kill or restart a primary on its port. Checked: no request
// fails (but a POST in flight when its upstream was killed, counted apart as allowed); a write carries a token; a
// read within its window goes to the primary; no replica serves while its lag was over every limit in force for
// 800 ms; reads return to the replicas at the end; mirror copies carry the whole body; mirror and in-flight counts,
// breakers and target states are back to normal at the end; and the log has no error.
import type { GatewayConfig } from '../../src/config/schema.ts'
import { Gateway } from './gateway.ts'
import { Agent, send, sleep, type Sent } from './http.ts'
import { nonZeroInFlightGauges, Run, type Options, type Step, type Summary } from './run.ts'
import { Upstream, type Shared } from './upstreams.ts'

interface Model {
  secret: string
  /** stickyAfterWriteMs */
  W: number
  /** maxLagMs, or none */
  L: number | undefined
  replicas: string[]
  canary: { weight: number } | undefined
  mirror: { percent: number } | undefined
  mirrorPool: 'mir' | 'mir2'
}

type Kind = 'write' | 'pinned' | 'read' | 'plain'
interface Rec extends Sent { kind: Kind; noToken?: boolean; writeT0?: number; writeT1?: number }

const NAMES = ['p0', 'p1', 'r0', 'r1', 'r2', 'c0', 'm0', 'm1'] as const
type Name = typeof NAMES[number]
const POOL_OF: Partial<Record<string, string>> = { p0: 'prim', p1: 'prim', r0: 'repl', r1: 'repl', r2: 'repl', c0: 'can' }
/** A replica over every limit for this long (4 probe intervals) must have stopped taking reads. */
const LAG_SETTLE_MS = 800

function toConfig (m: Model, ups: Record<Name, Upstream>, port: number, adminPort: number): GatewayConfig {
  // a second of failed probes before a target is out: the upstreams share this process's event loop with the
  // clients and checks, and a busy machine slows a probe or two (the lag reports ride on passing probes alone)
  const hc = { path: '/health', intervalMs: 200, timeoutMs: 190, healthyThreshold: 1, unhealthyThreshold: 5 }
  return {
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'info' },
    secret: m.secret,
    shutdown: { delayMs: 0, timeoutMs: 2000 },
    pools: {
      prim: { targets: [ups.p0.url, ups.p1.url], healthCheck: hc, outlier: { baseEjectionMs: 2000 }, circuitBreaker: { resetTimeoutMs: 2000 } },
      repl: { targets: m.replicas.map((r) => ups[r as Name].url), healthCheck: hc },
      can: { targets: [ups.c0.url], healthCheck: hc },
      mir: { targets: [ups.m0.url], timeouts: { requestMs: 1500 } },
      mir2: { targets: [ups.m1.url], timeouts: { requestMs: 1500 } },
    },
    routes: [
      {
        name: 'm', path: '/m', pool: 'prim',
        reads: { pool: 'repl', stickyAfterWriteMs: m.W, ...(m.L !== undefined ? { maxLagMs: m.L } : {}) },
        ...(m.canary ? { canary: { pool: 'can', weight: m.canary.weight } } : {}),
        ...(m.mirror ? { mirror: { pool: m.mirrorPool, percent: m.mirror.percent } } : {}),
      },
      { name: 'o', path: '/o', pool: 'prim', ...(m.mirror ? { mirror: { pool: m.mirrorPool, percent: 100 } } : {}) },
    ],
  }
}

export async function runSplit (options: Options): Promise<Summary> {
  const model: Model = { secret: 'chaos-split-secret-chaos-split-secret', W: 1500, L: 1000, replicas: ['r0', 'r1'], canary: undefined, mirror: undefined, mirrorPool: 'mir' }
  const run = new Run<Model>(options, model)
  const shared: Shared = { now: run.now, mirrorMode: 'ok', mirrorSeen: [] }
  const started: Upstream[] = []
  const agent = new Agent({ keepAlive: true, maxSockets: 16 })
  let gateway: Gateway | undefined
  let stop = false
  try {
    for (const n of NAMES) started.push(await Upstream.start(n, shared))
    const ups = Object.fromEntries(started.map((u) => [u.name, u])) as Record<Name, Upstream>
    const byPort = new Map(started.map((u) => [String(u.port), u.name]))
    const lagHist: Record<string, { at: number; lag: number | undefined }[]> = {}
    for (const r of ['r0', 'r1', 'r2'] as const) { ups[r].lagMs = 0; lagHist[r] = [{ at: 0, lag: 0 }] }
    const setLag = (r: string, v: number | undefined): void => { ups[r as Name].lagMs = v; lagHist[r]!.push({ at: run.now(), lag: v }) }
    const kills: { at0: number; at1: number }[] = []
    gateway = await Gateway.start((port, adminPort) => toConfig(model, ups, port, adminPort), run.now)
    const gw = gateway

    // ---- traffic ----
    const records: Rec[] = []
    const go = (kind: Kind, method: string, path: string, body?: string, headers?: Record<string, string>): Promise<Rec> =>
      send(gw.base, agent, run.now, method, path, body, headers).then((s) => ({ ...s, kind }))
    const session = async (id: number): Promise<void> => {
      for (let seq = 0; !stop; seq++) {
        const w = await go('write', 'POST', `/m/s${id}`, JSON.stringify({ id, seq, pad: 'x'.repeat(Math.floor(Math.random() * 3000)) }))
        records.push(w)
        if (w.status !== 200 || w.token === undefined) { if (w.status === 200) w.noToken = true; await sleep(20); continue }
        const useCookie = Math.random() < 0.5
        // reads right after the write, and a few more spread through the window
        for (let k = 0; k < 3 && !stop; k++) {
          const r = await go('pinned', 'GET', `/m/s${id}`, undefined, useCookie ? { cookie: 'a=b; ' + w.cookie } : { 'x-read-after-write': w.token })
          r.writeT0 = w.t0
          r.writeT1 = w.t1
          records.push(r)
          await sleep(Math.floor(Math.random() * 200))
        }
        await sleep(20)
      }
    }
    const reader = async (id: number): Promise<void> => {
      while (!stop) {
        records.push(await go('read', Math.random() < 0.9 ? 'GET' : 'HEAD', `/m/r${id}`))
        // a GET with a body too: the mirror copies whatever body was buffered
        records.push(await go('plain', Math.random() < 0.7 ? 'GET' : 'POST', `/o/x${id}`, Math.random() < 0.5 ? undefined : JSON.stringify({ id, pad: 'y'.repeat(500) })))
        await sleep(15)
      }
    }
    const loops = [0, 1, 2, 3].map(session).concat([0, 1, 2].map(reader))

    // ---- steps ----
    const genStep = (): Step => {
      const pick = <T>(a: readonly T[]): T => run.pick(a)
      const k: Step[] = []
      k.push(['window', () => { model.W = pick([600, 1500, 3000]); return `W=${model.W}` }, true])
      k.push(['maxLag', () => { model.L = pick([300, 1000, undefined]); return `L=${model.L}` }, true])
      k.push(['lag', () => {
        const r = pick(model.replicas)
        const v = pick([0, 50, 500, 2000, 'unknown'] as const)
        setLag(r, v === 'unknown' ? undefined : v)
        return `lag ${r}=${v}`
      }, false])
      k.push(['canary', () => { model.canary = run.rnd() < 0.3 ? undefined : { weight: pick([0, 20, 100]) }; return `canary ${JSON.stringify(model.canary)}` }, true])
      k.push(['mirror', () => { model.mirror = run.rnd() < 0.3 ? undefined : { percent: pick([10, 50, 100]) }; model.mirrorPool = pick(['mir', 'mir2'] as const); return `mirror ${JSON.stringify(model.mirror)} ${model.mirrorPool}` }, true])
      k.push(['mirrorMode', () => { shared.mirrorMode = pick(['ok', 'hang', 'fail', 'reset'] as const); return `mirrorMode ${shared.mirrorMode}` }, false])
      k.push(['secret', () => { model.secret = 'chaos-split-secret-' + Math.floor(run.rnd() * 1e9) + '-secret'; return 'secret' }, true])
      if (model.replicas.includes('r2')) k.push(['delReplica', () => { model.replicas = model.replicas.filter((x) => x !== 'r2'); return 'remove r2' }, true])
      else k.push(['addReplica', () => { model.replicas = [...model.replicas, 'r2']; return 'add r2' }, true])
      if (ups.p1.up) k.push(['kill', async () => { const at0 = run.now(); await ups.p1.kill(); kills.push({ at0, at1: run.now() }); return 'kill p1' }, false])
      else k.push(['restart', async () => { await ups.p1.restart(); return 'restart p1' }, false])
      return pick(k)
    }

    await sleep(800)
    const reloads = await run.runSteps('split', genStep, model, () => gw.reload(toConfig(model, ups, gw.port, gw.adminPort)))
    // the end phase: everything healthy again, so reads must be back on the replicas
    if (!ups.p1.up) { await ups.p1.restart(); run.log(`split @${run.now()}ms restart p1 (end)`) }
    for (const r of model.replicas) setLag(r, 0)
    shared.mirrorMode = 'ok'
    run.beginPhase('the end phase')
    await sleep(3000)
    const endPhase = run.now()
    await sleep(2500)
    stop = true
    await Promise.all(loops)
    await sleep(2000)

    // ---- per-request checks ----
    const lagAt = (r: string, t: number): number | undefined => { let v: number | undefined = 0; for (const e of lagHist[r]!) if (e.at <= t) v = e.lag; return v }
    const killedDuring = (t0: number, t1: number): boolean => kills.some((k) => k.at0 <= t1 && k.at1 >= t0)
    let ok = 0
    let allowedFailures = 0
    let endReads = 0
    let endReplicaReads = 0
    for (const r of records) {
      const what = `${r.kind} ${r.method} ${r.path} @${r.t0}-${r.t1}`
      if (r.status === 0 || r.status >= 500) {
        // README: a non-idempotent POST in flight to an upstream killed mid-request may fail
        if (r.method === 'POST' && killedDuring(r.t0, r.t1)) { allowedFailures++; continue }
        run.violate('failed', r.t0, `${what} status=${r.status} ${r.err ?? ''} ${r.data.slice(0, 160)}`)
        continue
      }
      if (r.kind === 'write' && r.noToken === true) run.violate('no-token', r.t0, `${what} up=${r.up}`)
      const pool = POOL_OF[r.up ?? '']
      if (r.kind === 'pinned') {
        // pinned for the shortest window live from the write to the read (a shortened window keeps the longer one
        // for the tokens minted before it, so the shortest is a safe bound), less the clocks' slack
        const live = run.live(r.writeT0!, r.t1)
        const shortest = Math.min(...live.map((m) => m.W))
        const gap = r.t0 - r.writeT1!
        if (gap < shortest - 150 && pool === 'repl') run.violate('pinned-read-to-replica', r.t0, `${r.up} served ${what} ${gap} ms after its write; windows live ${live.map((m) => m.W).join('/')}, secrets ${new Set(live.map((m) => m.secret)).size}`)
      }
      if ((r.kind === 'read' || (r.kind === 'pinned' && r.t0 - r.writeT1! > 3200)) && pool === 'repl') {
        const live = run.live(r.t0 - LAG_SETTLE_MS, r.t1)
        const limit = live.some((m) => m.L === undefined) ? Infinity : Math.max(...live.map((m) => m.L!))
        const lags = lagHist[r.up!]!.filter((e) => e.at > r.t0 - LAG_SETTLE_MS && e.at <= r.t1).map((e) => e.lag).concat([lagAt(r.up!, r.t0 - LAG_SETTLE_MS)])
        if (lags.every((v) => v !== undefined && v > limit)) run.violate('lagging-replica', r.t0, `${r.up} (lag ${lags.join(',')} > maxLagMs ${limit}) served ${what}`)
      }
      if (r.kind === 'read' && r.t0 > endPhase) { endReads++; if (pool === 'repl') endReplicaReads++ }
      ok++
    }
    if (endReads > 0 && endReplicaReads / endReads < 0.9) run.violate('end-reads-not-on-replicas', 'end', `${endReplicaReads}/${endReads} reads on replicas once all was healthy`)
    for (const m of shared.mirrorSeen.filter((c) => c.method === 'POST' && c.expect >= 0 && c.bytes !== c.expect).slice(0, 5)) run.violate('mirror-body', m.at, `${m.name} got ${m.bytes} of ${m.expect} bytes for ${m.url}`)

    // ---- the end state ----
    const st = await gw.status()
    for (const [pn, p] of Object.entries(st.pools)) {
      if (p.circuit !== 'closed') run.violate('end-state', 'end', `breaker ${pn} ${p.circuit}`)
      for (const t of p.targets) {
        if (t.inFlight !== 0) run.violate('in-flight', 'end', `${pn} ${t.url} inFlight ${t.inFlight} (${t.state})`)
        if (t.state !== 'healthy') run.violate('end-state', 'end', `${pn} ${byPort.get(new URL(t.url).port)} ${t.state}`)
      }
    }
    for (const r of st.routes) if (r.mirror !== undefined && r.mirror.inFlight !== 0) run.violate('in-flight', 'end', `mirror of ${r.name} inFlight ${r.mirror.inFlight}`)
    const metrics = await gw.metrics()
    const gauges = nonZeroInFlightGauges(metrics)
    if (gauges.length > 0) run.violate('in-flight', 'end', 'metrics not 0: ' + gauges.join(' | '))
    // an error about the replica tier (no replica available while all lag) is the scenario, not a fault
    for (const e of gw.logs.filter((l) => l.level >= 50 && !(l.event === 'tier' && l.pool === 'repl')).slice(0, 5)) run.violate('log-error', e.at, JSON.stringify(e).slice(0, 300))
    const mirrorOutcomes = metrics.split('\n').filter((l) => l.startsWith('switchyard_mirror_requests_total')).map((l) => l.replace('switchyard_mirror_requests_total', '')).join(' ')
    run.log(`split end: mirror copies seen ${shared.mirrorSeen.length}; ${mirrorOutcomes}`)
    return { mode: 'split', requests: records.length, ok, allowedFailures, reloads, actions: kills.length, violations: run.violations, stepKinds: run.stepKinds, extra: `mirror copies ${shared.mirrorSeen.length}` }
  } finally {
    stop = true
    agent.destroy()
    await gateway?.stop()
    await Promise.all(started.map((u) => u.close()))
  }
}
