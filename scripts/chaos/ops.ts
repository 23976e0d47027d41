// Mode `ops`: operator chaos. Six healthy upstreams behind three pools; keep-alive GET/POST clients on four routes
// and two WebSocket echo clients on /a, while each step makes one random valid change: a reload (targets, weights,
// balancers, backups, routes, pools, canary, read/write split, retries, breaker, health checks) or an admin action
// (drain, disable, enable, switchover, failback, canary weight). Every request must succeed and be answered by an
// upstream that a config live during the request allowed (not one drained or disabled throughout, not a backup
// while the pool was never switched over); /status must agree with the model after each step; in-flight and tunnel
// gauges must be back to 0 at the end, removed targets left with no connection, and the log free of errors.
import type { GatewayConfig } from '../../src/config/schema.ts'
import { Gateway } from './gateway.ts'
import { Agent, send, sleep, type Sent } from './http.ts'
import { nonZeroInFlightGauges, Run, type Options, type Step, type Summary } from './run.ts'
import { Upstream, type Shared } from './upstreams.ts'

type Balancer = 'round-robin' | 'least-connections' | 'random' | 'p2c' | { type: 'hash'; key: 'header:x-user-id' }
const BALANCERS: Balancer[] = ['round-robin', 'least-connections', 'random', 'p2c', { type: 'hash', key: 'header:x-user-id' }]

interface Target { u: number; weight: number; backup: boolean }
interface Pool { targets: Target[]; balancer: Balancer; attempts: number; hc: boolean; hcInt: number; breakerPct: number }
interface Route { name: string; path: string; pool: string; canary?: { pool: string; weight: number; live?: number }; reads?: { pool: string } }
interface Model { pools: Record<string, Pool>; routes: Route[] }
interface Action { at0: number; at1: number; kind: string; pool: string; u?: number }

const UPSTREAMS = 6

function toConfig (m: Model, ups: Upstream[], port: number, adminPort: number): GatewayConfig {
  const pools: GatewayConfig['pools'] = {}
  for (const [name, p] of Object.entries(m.pools)) {
    pools[name] = {
      targets: p.targets.map((t) => ({ url: ups[t.u]!.url, weight: t.weight, backup: t.backup })),
      balancer: p.balancer,
      failback: 'auto',
      retry: { attempts: p.attempts },
      circuitBreaker: { errorThresholdPercentage: p.breakerPct },
      ...(p.hc ? { healthCheck: { path: '/health', intervalMs: p.hcInt, timeoutMs: 300, healthyThreshold: 1, unhealthyThreshold: 2 } } : {}),
    }
  }
  return {
    server: { host: '127.0.0.1', port },
    admin: { host: '127.0.0.1', port: adminPort },
    log: { level: 'info' },
    secret: 'chaos-ops-secret-chaos-ops-secret',
    shutdown: { delayMs: 0, timeoutMs: 2000 },
    pools,
    routes: m.routes.map((r) => ({
      name: r.name, path: r.path, pool: r.pool,
      ...(r.canary ? { canary: { pool: r.canary.pool, weight: r.canary.weight } } : {}),
      ...(r.reads ? { reads: { pool: r.reads.pool } } : {}),
    })),
  }
}

/** The upstreams a route's pools (own, canary, reads) hold in config m, or undefined when no route takes the path. */
function allowedUpstreams (m: Model, path: string): Set<string> | undefined {
  const r = m.routes.find((x) => path.startsWith(x.path + '/') || path === x.path)
  if (r === undefined) return undefined
  const names = new Set<string>()
  for (const p of [r.pool, r.canary?.pool, r.reads?.pool]) if (p !== undefined) for (const t of m.pools[p]?.targets ?? []) names.add('u' + t.u)
  return names
}

export async function runOps (options: Options): Promise<Summary> {
  const model: Model = {
    pools: {
      pA: { targets: [{ u: 0, weight: 1, backup: false }, { u: 1, weight: 1, backup: false }], balancer: 'round-robin', attempts: 3, hc: true, hcInt: 500, breakerPct: 50 },
      pB: { targets: [{ u: 2, weight: 1, backup: false }, { u: 3, weight: 2, backup: false }], balancer: 'least-connections', attempts: 3, hc: false, hcInt: 500, breakerPct: 50 },
      pC: { targets: [{ u: 4, weight: 1, backup: false }, { u: 5, weight: 1, backup: false }], balancer: 'p2c', attempts: 2, hc: true, hcInt: 700, breakerPct: 50 },
    },
    routes: [{ name: 'ra', path: '/a', pool: 'pA' }, { name: 'rb', path: '/b', pool: 'pB' }, { name: 'rc', path: '/c', pool: 'pC' }],
  }
  /** `${pool}|${u}` → the operator action that took it out of rotation. */
  const out = new Map<string, 'drain' | 'disable'>()
  const run = new Run<Model>(options, model)
  const shared: Shared = { now: run.now, mirrorMode: 'ok', mirrorSeen: [] }
  const ups: Upstream[] = []
  const agent = new Agent({ keepAlive: true, maxSockets: 8 })
  let gateway: Gateway | undefined
  let stop = false
  const websockets: WebSocket[] = []
  try {
    for (let i = 0; i < UPSTREAMS; i++) ups.push(await Upstream.start('u' + i, shared))
    gateway = await Gateway.start((port, adminPort) => toConfig(model, ups, port, adminPort), run.now)
    const gw = gateway
    const actions: Action[] = []

    // ---- traffic ----
    const records: Sent[] = []
    const loop = async (id: number): Promise<void> => {
      for (let seq = 0; !stop; seq++) {
        const path = ['/a', '/b', '/c', '/d'][Math.floor(Math.random() * 4)]! + (Math.random() < 0.1 ? '/slow' : '/x') + id + '-' + seq
        const post = Math.random() < 0.3
        const body = post ? JSON.stringify({ id, seq, pad: 'x'.repeat(Math.floor(Math.random() * 2000)) }) : undefined
        records.push(await send(gw.base, agent, run.now, post ? 'POST' : 'GET', path, body, { 'x-user-id': 'user' + Math.floor(Math.random() * 50) }))
        await sleep(8)
      }
    }
    const loops = [0, 1, 2, 3, 4, 5].map(loop)
    const wsEvents: { at: number; id: number; ev: string; detail: string }[] = []
    let wsOpens = 0
    let wsMessages = 0
    const wsClient = (id: number): void => {
      if (stop) return
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/a/ws${id}`)
      let timer: NodeJS.Timeout | undefined
      ws.addEventListener('message', () => { wsMessages++ })
      ws.addEventListener('open', () => { wsOpens++; timer = setInterval(() => ws.send('ping'), 200) })
      ws.addEventListener('error', () => wsEvents.push({ at: run.now(), id, ev: 'error', detail: '' }))
      ws.addEventListener('close', (e) => {
        clearInterval(timer)
        wsEvents.push({ at: run.now(), id, ev: 'close', detail: String(e.code) })
        if (!stop) setTimeout(() => wsClient(id), 100)
      })
      websockets[id] = ws
    }
    wsClient(0)
    wsClient(1)

    // ---- steps ----
    const tid = (u: number): string => encodeURIComponent(`127.0.0.1:${ups[u]!.port}`)
    const available = (pool: string, exclude: number): Target[] => model.pools[pool]!.targets.filter((t) => !t.backup && t.u !== exclude && !out.has(`${pool}|${t.u}`))
    const primaries = (pool: string): Target[] => model.pools[pool]!.targets.filter((t) => !t.backup)
    const act = async (kind: string, pool: string, path: string, u?: number, body?: unknown): Promise<string> => {
      const at0 = run.now()
      const status = await gw.adminPost(path, body)
      actions.push({ at0, at1: run.now(), kind, pool, ...(u === undefined ? {} : { u }) })
      if (status !== 200) run.violate('admin', at0, `${kind} ${path} answered ${status}`)
      return `${kind} ${pool}${u === undefined ? '' : ' u' + u} -> ${status}`
    }
    const genStep = (): Step => {
      const pick = <T>(a: readonly T[]): T => run.pick(a)
      const poolNames = Object.keys(model.pools)
      const kinds: Step[] = []
      const p = pick(poolNames)
      const P = model.pools[p]!
      const used = new Set(P.targets.map((t) => t.u))
      const free = ups.map((_, i) => i).filter((i) => !used.has(i))
      if (free.length > 0) kinds.push(['addTarget', () => { const u = pick(free); P.targets.push({ u, weight: run.int(1, 4), backup: false }); return `addTarget ${p} u${u}` }, true])
      const removable = primaries(p).filter((t) => available(p, t.u).length >= 1)
      if (removable.length > 0) kinds.push(['removeTarget', () => { const t = pick(removable); P.targets = P.targets.filter((x) => x !== t); out.delete(`${p}|${t.u}`); return `removeTarget ${p} u${t.u}` }, true])
      kinds.push(['weight', () => { const t = pick(P.targets); t.weight = run.int(1, 5); return `weight ${p} u${t.u}=${t.weight}` }, true])
      kinds.push(['balancer', () => { P.balancer = pick(BALANCERS); return `balancer ${p} ${JSON.stringify(P.balancer)}` }, true])
      if (!model.routes.some((r) => r.path === '/d')) kinds.push(['addRoute', () => { const pp = pick(poolNames); model.routes.push({ name: 'rd', path: '/d', pool: pp }); return `addRoute /d -> ${pp}` }, true])
      else kinds.push(['removeRoute', () => { model.routes = model.routes.filter((r) => r.path !== '/d'); return 'removeRoute /d' }, true])
      const r = pick(model.routes)
      kinds.push(['moveRoute', () => {
        const pp = pick(poolNames.filter((x) => x !== r.pool))
        r.pool = pp
        if (r.canary?.pool === pp) delete r.canary
        if (r.reads?.pool === pp) delete r.reads
        return `moveRoute ${r.name} -> ${pp}`
      }, true])
      if (free.length > 0) kinds.push(['addBackup', () => { const u = pick(free); P.targets.push({ u, weight: 1, backup: true }); return `addBackup ${p} u${u}` }, true])
      const backups = P.targets.filter((t) => t.backup)
      if (backups.length > 0) {
        kinds.push(['removeBackup', () => { const t = pick(backups); P.targets = P.targets.filter((x) => x !== t); return `removeBackup ${p} u${t.u}` }, true])
        kinds.push(['switchover', () => act('switchover', p, `/pools/${p}/switchover`, undefined, { to: 'backup' }), false])
      }
      kinds.push(['failback', () => act('failback', p, `/pools/${p}/failback`), false])
      const prim = primaries(p).filter((t) => !out.has(`${p}|${t.u}`) && available(p, t.u).length >= 1)
      if (prim.length > 0) {
        const t = pick(prim)
        const how = pick(['drain', 'disable'] as const)
        kinds.push([how, async () => { const line = await act(how, p, `/pools/${p}/targets/${tid(t.u)}/${how}`, t.u); out.set(`${p}|${t.u}`, how); return line }, false])
      }
      const outs = [...out.keys()].filter((k) => k.startsWith(p + '|'))
      if (outs.length > 0) {
        const k = pick(outs)
        const u = Number(k.split('|')[1])
        kinds.push(['enable', async () => { const line = await act('enable', p, `/pools/${p}/targets/${tid(u)}/enable`, u); out.delete(k); return line }, false])
      }
      if (model.pools.pD === undefined) {
        kinds.push(['addPool', () => {
          model.pools.pD = { targets: [{ u: run.int(0, 5), weight: 1, backup: false }], balancer: pick(BALANCERS), attempts: 3, hc: run.rnd() < 0.5, hcInt: 500, breakerPct: 50 }
          const rr = pick(model.routes)
          rr.pool = 'pD'
          if (rr.canary?.pool === 'pD') delete rr.canary
          if (rr.reads?.pool === 'pD') delete rr.reads
          return `addPool pD u${model.pools.pD.targets[0]!.u}, move ${rr.name} -> pD`
        }, true])
      } else {
        kinds.push(['removePool', () => {
          for (const rr of model.routes) {
            if (rr.pool === 'pD') rr.pool = pick(['pA', 'pB', 'pC'].filter((x) => x !== rr.canary?.pool && x !== rr.reads?.pool))
            if (rr.canary?.pool === 'pD') delete rr.canary
            if (rr.reads?.pool === 'pD') delete rr.reads
          }
          delete model.pools.pD
          for (const k of [...out.keys()]) if (k.startsWith('pD|')) out.delete(k)
          return 'removePool pD'
        }, true])
      }
      const flippable = P.targets.filter((t) => t.backup || available(p, t.u).length >= 1)
      if (flippable.length > 0) kinds.push(['flipBackup', () => { const t = pick(flippable); t.backup = !t.backup; return `flipBackup ${p} u${t.u} backup=${t.backup}` }, true])
      kinds.push(['retry', () => { P.attempts = run.int(1, 4); return `retry ${p} attempts=${P.attempts}` }, true])
      kinds.push(['breaker', () => { P.breakerPct = pick([30, 50, 70, 90]); return `breaker ${p} pct=${P.breakerPct}` }, true])
      kinds.push(['health', () => { P.hc = !P.hc || run.rnd() < 0.5; P.hcInt = pick([300, 500, 1000]); return `health ${p} hc=${P.hc} int=${P.hcInt}` }, true])
      const others = poolNames.filter((x) => x !== r.pool && x !== r.reads?.pool)
      if (others.length > 0) kinds.push(['canary', () => { r.canary = { pool: pick(others), weight: run.int(0, 100) }; return `canary ${r.name} -> ${r.canary.pool} w=${r.canary.weight}` }, true])
      const canary = r.canary
      if (canary !== undefined) {
        kinds.push(['noCanary', () => { delete r.canary; return `noCanary ${r.name}` }, true])
        kinds.push(['canaryWeight', async () => {
          const w = run.int(0, 100)
          const line = await act('canaryWeight', r.pool, `/routes/${r.name}/canary`, undefined, { weight: w })
          if (line.endsWith('200')) canary.live = w
          return `${line} (${r.name} ${w})`
        }, false])
      }
      const readPools = poolNames.filter((x) => x !== r.pool && x !== r.canary?.pool)
      if (readPools.length > 0 && r.reads === undefined) kinds.push(['reads', () => { r.reads = { pool: pick(readPools) }; return `reads ${r.name} -> ${r.reads.pool}` }, true])
      if (r.reads !== undefined) kinds.push(['noReads', () => { delete r.reads; return `noReads ${r.name}` }, true])
      return pick(kinds)
    }

    /** /status against the model: routes' pools, canaries and reads; each target listed once with its weight, backup flag and state. */
    const agree = async (i: number, desc: string): Promise<void> => {
      const st = await gw.status()
      const bad: string[] = []
      for (const r of model.routes) {
        const sr = st.routes.find((x) => x.name === r.name)
        if (sr === undefined) { bad.push(`route ${r.name} missing`); continue }
        if (sr.pool !== r.pool) bad.push(`route ${r.name} pool ${sr.pool} != ${r.pool}`)
        if (sr.canary?.pool !== r.canary?.pool) bad.push(`route ${r.name} canary pool ${sr.canary?.pool} != ${r.canary?.pool}`)
        else if (r.canary && sr.canary!.weight !== (r.canary.live ?? r.canary.weight)) bad.push(`route ${r.name} canary weight ${sr.canary!.weight} (${sr.canary!.weightSource}) != ${r.canary.live ?? r.canary.weight}`)
        if (sr.reads?.pool !== r.reads?.pool) bad.push(`route ${r.name} reads ${sr.reads?.pool} != ${r.reads?.pool}`)
      }
      for (const [pn, P] of Object.entries(model.pools)) {
        const sp = st.pools[pn]
        if (sp === undefined) { bad.push(`pool ${pn} missing`); continue }
        for (const t of P.targets) {
          const listed = sp.targets.filter((x) => x.url === ups[t.u]!.url)
          if (listed.length !== 1) { bad.push(`pool ${pn} u${t.u} listed ${listed.length} times`); continue }
          const x = listed[0]!
          if (x.weight !== t.weight || x.backup !== t.backup) bad.push(`pool ${pn} u${t.u} weight/backup ${x.weight}/${x.backup} != ${t.weight}/${t.backup}`)
          // an operator's drain or disable sticks to the URL across weight and backup-flag changes (README)
          const how = out.get(`${pn}|${t.u}`)
          const expected = how === 'drain' ? ['draining', 'drained'] : how === 'disable' ? ['disabled'] : ['healthy']
          if (!expected.includes(x.state)) bad.push(`pool ${pn} u${t.u} state ${x.state}, expected ${expected.join('/')}`)
        }
      }
      if (bad.length > 0) {
        run.violate('status-disagrees', `step ${i}`, `after ${desc}: ${bad.join('; ')}`)
        run.log('  DISAGREE ' + bad.join('; '))
      }
    }

    await sleep(500)
    const reloads = await run.runSteps('ops', genStep, model, () => gw.reload(toConfig(model, ups, gw.port, gw.adminPort)), agree)
    await sleep(1000)
    stop = true
    const stoppedAt = run.now()
    await Promise.all(loops)
    for (const ws of websockets) ws.close()
    await sleep(2500)

    // ---- per-request checks ----
    let ok = 0
    for (const rec of records) {
      const live = run.live(rec.t0, rec.t1)
      const what = `${rec.method} ${rec.path} @${rec.t0}-${rec.t1}`
      if (rec.status === 0 || rec.status >= 500) { run.violate('failed', rec.t0, `${what} status=${rec.status} ${rec.err ?? ''} ${rec.data.slice(0, 200)}`); continue }
      if (rec.status === 404) {
        // /d is added and removed by steps: a 404 is right while a config without it was live
        if (rec.path.startsWith('/d') && live.some((m) => allowedUpstreams(m, rec.path) === undefined)) { ok++; continue }
        run.violate('not-found', rec.t0, `${what} ${rec.data.slice(0, 200)}`)
        continue
      }
      if (rec.status !== 200) { run.violate('status', rec.t0, `${rec.status} ${what} ${rec.data.slice(0, 200)}`); continue }
      const sets = live.map((m) => allowedUpstreams(m, rec.path)).filter((s) => s !== undefined)
      if (!sets.some((s) => s.has(rec.up ?? ''))) { run.violate('wrong-upstream', rec.t0, `${rec.up} served ${what}`); continue }
      const u = Number(rec.up!.slice(1))
      const pairs: { p: string; t: Target }[] = []
      for (const m of live) {
        const r = m.routes.find((x) => rec.path.startsWith(x.path + '/'))
        if (r === undefined) continue
        for (const p of [r.pool, r.canary?.pool, r.reads?.pool]) {
          if (p === undefined) continue
          const t = m.pools[p]?.targets.find((x) => x.u === u)
          if (t !== undefined) pairs.push({ p, t })
        }
      }
      // taken out before the request began and not enabled since, nor removed from the pool (which clears the state)
      const outThroughout = ({ p }: { p: string }): boolean => {
        const last = actions.filter((a) => a.pool === p && a.u === u && a.at0 < rec.t1).at(-1)
        if (last === undefined || last.kind === 'enable' || last.at1 >= rec.t0) return false
        return run.history.every((h) => h.from < last.at1 || h.from > rec.t1 || h.m.pools[p]?.targets.some((x) => x.u === u) === true)
      }
      const switchedAt = (p: string): boolean => actions.some((a) => a.pool === p && a.kind === 'switchover' && a.at0 <= rec.t1 &&
        !actions.some((b) => b.pool === p && b.kind === 'failback' && b.at0 > a.at1 && b.at1 < rec.t0))
      if (pairs.length > 0 && pairs.every(outThroughout)) { run.violate('out-target', rec.t0, `${rec.up} (drained or disabled) served ${what}`); continue }
      if (pairs.length > 0 && pairs.every(({ p, t }) => t.backup && !switchedAt(p))) { run.violate('backup', rec.t0, `backup ${rec.up} served ${what} (pools ${pairs.map((x) => x.p).join(',')})`); continue }
      ok++
    }
    // a tunnel closes only when its target is disabled (then at once), or at our own close at the end
    for (const e of wsEvents) {
      if (e.at >= stoppedAt) continue
      const disabled = actions.some((a) => a.kind === 'disable' && a.at0 <= e.at + 50 && a.at1 >= e.at - 1500)
      if (!disabled) run.violate('websocket', e.at, `ws${e.id} ${e.ev} ${e.detail} @${e.at}`)
    }

    // ---- the end state ----
    const st = await gw.status()
    const inFlight: string[] = []
    for (const [pn, p] of Object.entries(st.pools)) for (const t of p.targets) if (t.inFlight !== 0 || (t.tunnels ?? 0) !== 0) inFlight.push(`${pn} ${t.url} inFlight=${t.inFlight} tunnels=${t.tunnels} state=${t.state}`)
    if (inFlight.length > 0) run.violate('in-flight', 'end', '/status after the traffic: ' + inFlight.join('; '))
    if ((st.tunnels ?? 0) !== 0) run.violate('in-flight', 'end', `/status tunnels ${st.tunnels}`)
    const gauges = nonZeroInFlightGauges(await gw.metrics())
    if (gauges.length > 0) run.violate('in-flight', 'end', 'metrics not 0: ' + gauges.join(' | '))
    for (const e of gw.logs.filter((l) => l.level >= 50).slice(0, 10)) run.violate('log-error', e.at, JSON.stringify(e).slice(0, 400))
    const kept = new Set(Object.values(model.pools).flatMap((p) => p.targets.map((t) => t.u)))
    for (const [i, u] of ups.entries()) if (!kept.has(i) && u.openConnections > 0) run.violate('connections', 'end', `removed target ${u.name} still has ${u.openConnections} connections from the gateway`)
    run.log(`ops end: upstream connections ${ups.map((u, i) => `${u.name}${kept.has(i) ? '' : '(removed)'}=${u.openConnections}`).join(' ')}; fds ${gw.fds()}`)
    return { mode: 'ops', requests: records.length, ok, allowedFailures: 0, reloads, actions: actions.length, violations: run.violations, stepKinds: run.stepKinds, extra: `ws opens ${wsOpens} messages ${wsMessages}` }
  } finally {
    stop = true
    for (const ws of websockets) ws.close()
    agent.destroy()
    await gateway?.stop()
    await Promise.all(ups.map((u) => u.close()))
  }
}
