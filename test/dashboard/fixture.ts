// A small real admin listener for the dashboard's tests: registerDashboard on a Fastify instance, plus stand-ins
// for the admin API's endpoints that record every call and change the state the way the gateway would
// (then mark the live stream dirty). The state is plain data the test mutates: a status, events, a TrafficHistory.
import Fastify from 'fastify'
import { registerDashboard } from '../../src/admin/dashboard.ts'
import type { DashboardPool, DashboardStatus, DashboardTarget } from '../../src/admin/dashboard/wire.ts'
import { TrafficHistory } from '../../src/admin/history.ts'
import type { LiveStream } from '../../src/admin/live.ts'
import type { GatewayEvent } from '../../src/admin/status-types.ts'
import { mulberry32 } from '../unit/prng.ts'

export interface RecordedCall { method: string; url: string; authorization: string | undefined; body: unknown }

export interface FakeAdminOptions {
  /** Every request except the page and its assets needs `Authorization: Bearer <token>`. */
  token?: string
  actionsDisabledReason?: string
  /** What POST /reload answers; by default a rejection with two problems (and the matching event). */
  reload?: { status: number; body: unknown }
  /** Wait this long before publishing the reload-rejected event (the page has shown the 422 by then). */
  reloadEventDelayMs?: number
  /** Seconds of past traffic to fill the history with (default 120). */
  seedSeconds?: number
  /** Start in the screenshot's incident (applyFailover) rather than all healthy. */
  failover?: boolean
}

export interface FakeAdmin {
  url: string
  status: DashboardStatus
  events: GatewayEvent[]
  history: TrafficHistory
  live: LiveStream
  calls: RecordedCall[]
  pool (name: string): DashboardPool
  target (pool: string, id: string): DashboardTarget
  /** Records the event, sends it to watchers (which marks the snapshot dirty). */
  publish (event: Omit<GatewayEvent, 'at'> & { at?: string }): void
  /** The status changed: a snapshot goes out within the throttle. */
  changed (): void
  close (): Promise<void>
}

export const REJECTED_PROBLEMS = ['pools.payments.targets[1]: must be a URL', 'routes[3].pool: no pool named "ordres"']

export function healthyStatus (): DashboardStatus {
  const target = (id: string, backup = false, weight = 1): DashboardTarget => ({
    id, url: `http://${id}`, backup, weight, state: 'healthy', inFlight: 0, tunnels: 0, requests: 0, failures: 0,
    lastCheck: { ok: true, at: new Date().toISOString(), status: 200 },
  })
  const pool = (targets: DashboardTarget[]): DashboardPool => ({ circuit: 'closed', activeTier: 'primary', switchover: 'auto', hold: 'none', targets })
  return {
    version: '0.1.0',
    configFile: '/etc/switchyard/routes.config.ts',
    configLoadedAt: new Date(Date.now() - 3_600_000).toISOString(),
    configHash: '9f2c41d7a0b3e6f18c5d',
    restartRequired: [],
    readiness: 'ready',
    tunnels: 0,
    removedPools: {},
    pools: {
      payments: pool([target('10.0.1.11:8080'), target('10.0.1.12:8080'), target('10.0.9.11:8080', true)]),
      users: pool([target('10.0.2.21:8080', false, 2), target('10.0.2.22:8080')]),
      catalog: pool([target('10.0.3.31:8080'), target('10.0.3.32:8080')]),
      'catalog-canary': pool([target('10.0.3.40:8080')]),
      orders: pool([target('10.0.4.41:5432')]),
      'orders-replicas': pool([target('10.0.4.51:5432'), target('10.0.4.52:5432')]),
    },
    routes: [
      { id: '*/api/payments [GET,POST]', name: 'payments', path: '/api/payments', pool: 'payments', methods: ['GET', 'POST'] },
      { id: '*/api/users', name: 'users', path: '/api/users', pool: 'users' },
      { id: '*/api/catalog', name: 'catalog', path: '/api/catalog', pool: 'catalog', canary: { pool: 'catalog-canary', weight: 10, weightSource: 'file', rollbacks: [] } },
      { id: '*/api/orders', name: 'orders', path: '/api/orders', pool: 'orders', split: { readPool: 'orders-replicas', fallbackActive: false, stickyAfterWriteMs: 5000 } },
      { id: 'cdn.example.com/static', path: '/static', pool: 'catalog', host: 'cdn.example.com' },
    ],
  }
}

/** The screenshot's incident: payments on its backups (one primary unhealthy, one ejected), users' breaker open. */
export function applyFailover (admin: FakeAdmin): void {
  const ago = (s: number): string => new Date(Date.now() - s * 1000).toISOString()
  const payments = admin.pool('payments')
  Object.assign(admin.target('payments', '10.0.1.11:8080'), { state: 'unhealthy', since: ago(94), lastCheck: { ok: false, at: ago(2), error: 'connect ECONNREFUSED 10.0.1.11:8080' } })
  Object.assign(admin.target('payments', '10.0.1.12:8080'), { state: 'ejected', since: ago(88), lastCheck: { ok: true, at: ago(3), status: 200 } })
  Object.assign(admin.target('payments', '10.0.9.11:8080'), { inFlight: 7 })
  Object.assign(payments, { activeTier: 'backup', switchover: 'auto', hold: 'none', activeTierSince: ago(88) })
  Object.assign(admin.pool('users'), { circuit: 'open', circuitRetryAfterSeconds: 12, circuitSince: ago(18) })
  Object.assign(admin.target('users', '10.0.2.21:8080'), { inFlight: 2 })
  admin.events.push(
    { at: ago(94), kind: 'target', pool: 'payments', target: '10.0.1.11:8080', message: 'target unhealthy: 3 failed checks' },
    { at: ago(88), kind: 'target', pool: 'payments', target: '10.0.1.12:8080', message: 'target ejected: 5 consecutive failures' },
    { at: ago(88), kind: 'tier', pool: 'payments', message: 'failover: traffic moved to the backups' },
    { at: ago(40), kind: 'reload', message: 'config reloaded: routes +1 -0 ~0, pools +0 -0 ~1' },
    { at: ago(18), kind: 'breaker', pool: 'users', message: 'circuit breaker open' },
  )
}

/** One second of plausible traffic for every target; `secondsAgo` places it relative to the incident (if any). */
function recordSecond (history: TrafficHistory, status: DashboardStatus, random: () => number, failover: boolean, secondsAgo: number): void {
  for (const [name, pool] of Object.entries(status.pools)) {
    for (const target of pool.targets) {
      const incident = failover && secondsAgo < 90
      let perSecond = target.backup ? 0 : 12 + Math.floor(random() * 6)
      let errorShare = 0.002
      let base = 8
      if (name === 'payments' && incident) perSecond = target.backup ? 30 + Math.floor(random() * 6) : 0
      if (name === 'payments' && target.backup) base = 22
      if (name === 'users' && failover && secondsAgo < 60) { errorShare = secondsAgo < 20 ? 0.6 : 0.15; base = 40 }
      if (name === 'users' && failover && secondsAgo < 18) perSecond = 1 // the breaker is open: only the odd probe
      for (let i = 0; i < perSecond; i++) history.record(name, target.id, base * (0.5 + random() * 1.5) + (random() < 0.001 ? 120 : 0), random() >= errorShare)
    }
  }
}

/**
 * Fills the history with `seconds` of traffic ending now, then keeps it coming once a second (deterministic
 * values, real time) until the returned stop function is called.
 */
export function simulateTraffic (history: TrafficHistory, status: DashboardStatus, seconds: number, failover: boolean): () => void {
  const random = mulberry32(7)
  const now = Date.now()
  for (const [name, pool] of Object.entries(status.pools)) history.track(name, pool.targets.map((target) => target.id))
  for (let s = seconds; s > 0; s--) {
    recordSecond(history, status, random, failover, s)
    history.sample(now - s * 1000)
  }
  const timer = setInterval(() => {
    recordSecond(history, status, random, failover, 0)
    history.sample(Date.now())
  }, 1000)
  timer.unref()
  return () => clearInterval(timer)
}

export async function startFakeAdmin (options: FakeAdminOptions = {}): Promise<FakeAdmin> {
  const admin = Fastify({ logger: false, forceCloseConnections: true })
  const status = healthyStatus()
  const events: GatewayEvent[] = []
  const history = new TrafficHistory()
  const calls: RecordedCall[] = []

  if (options.token !== undefined) {
    const expected = `Bearer ${options.token}`
    admin.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0]!
      if (path === '/' || path.startsWith('/dashboard/')) return
      if (request.headers.authorization !== expected) {
        return reply.code(401).send({ error: 'unauthorized', message: 'a valid bearer token is required' })
      }
    })
  }
  admin.addHook('onRequest', async (request) => {
    if (request.method === 'POST') calls.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body: undefined })
  })
  admin.addHook('preHandler', async (request) => {
    if (request.method === 'POST') calls.at(-1)!.body = request.body
  })

  const live = registerDashboard(admin, {
    status: () => status,
    events: () => events,
    history,
    auth: { tokenRequired: options.token !== undefined, ...(options.actionsDisabledReason === undefined ? {} : { actionsDisabledReason: options.actionsDisabledReason }) },
  })

  const fake: FakeAdmin = {
    url: '',
    status,
    events,
    history,
    live,
    calls,
    pool: (name) => {
      const pool = status.pools[name]
      if (pool === undefined) throw new Error(`no pool ${name}`)
      return pool
    },
    target: (pool, id) => {
      const target = fake.pool(pool).targets.find((t) => t.id === id)
      if (target === undefined) throw new Error(`no target ${id} in ${pool}`)
      return target
    },
    publish: (event) => {
      const full: GatewayEvent = { at: new Date().toISOString(), ...event }
      events.push(full)
      live.publishEvent(full)
    },
    changed: () => live.markDirty(),
    close: async () => {
      stopTraffic()
      await admin.close()
    },
  }

  const unknownPool = (name: string) => ({ error: 'unknown_pool', message: `no pool named '${name}'` })
  admin.get('/status', async () => status)
  admin.post<{ Params: { pool: string; target: string; action: string } }>('/pools/:pool/targets/:target/:action', async (request, reply) => {
    const { pool: poolName, target: id, action } = request.params
    const pool = status.pools[poolName]
    const target = pool?.targets.find((t) => t.id === id)
    if (pool === undefined) return reply.code(404).send(unknownPool(poolName))
    if (target === undefined) return reply.code(404).send({ error: 'unknown_target', message: `no target ${id}` })
    if (action === 'drain') target.state = target.inFlight > 0 ? 'draining' : 'drained'
    else if (action === 'enable') target.state = 'healthy'
    else if (action === 'disable') target.state = 'disabled'
    else return reply.code(404).send({ error: 'unknown_action', message: action })
    fake.publish({ kind: 'drain', pool: poolName, target: id, message: `target ${action}d by an operator` })
    return { pool: poolName, target: id, state: target.state }
  })
  admin.post<{ Params: { pool: string }; Body: { to?: string } }>('/pools/:pool/switchover', async (request, reply) => {
    const pool = status.pools[request.params.pool]
    if (pool === undefined) return reply.code(404).send(unknownPool(request.params.pool))
    const to = request.body?.to
    if (to !== 'backup' && to !== 'primary') return reply.code(400).send({ error: 'invalid_request', message: 'to: backup or primary' })
    pool.activeTier = to
    pool.switchover = to === 'backup' ? 'manual' : 'auto'
    pool.hold = to === 'backup' ? 'operator' : 'none'
    fake.publish({ kind: 'switchover', pool: request.params.pool, message: `switchover to the ${to} tier` })
    return pool
  })
  admin.post<{ Params: { route: string }; Body: { weight?: number } }>('/routes/:route/canary', async (request, reply) => {
    // as the gateway looks a route up: by its name, or by its id when it has none
    const route = status.routes.find((r) => (r.name ?? r.id) === request.params.route)
    if (route?.canary === undefined) return reply.code(404).send({ error: 'unknown_route', message: request.params.route })
    const weight = request.body?.weight
    if (typeof weight !== 'number' || weight < 0 || weight > 100) return reply.code(400).send({ error: 'invalid_request', message: 'weight: 0-100' })
    route.canary.weight = weight
    route.canary.weightSource = 'operator'
    fake.publish({ kind: 'canary', route: request.params.route, message: `canary weight set to ${weight}%` })
    return route.canary
  })
  admin.post('/reload', async (_request, reply) => {
    const answer = options.reload ?? { status: 422, body: { error: 'invalid_config', message: 'the new config was rejected', problems: REJECTED_PROBLEMS } }
    const problems = (answer.body as { problems?: string[] }).problems
    if (answer.status === 422 && problems !== undefined) {
      const publish = (): void => fake.publish({ kind: 'reload-rejected', message: 'config reload rejected', problems })
      if (options.reloadEventDelayMs === undefined) publish()
      else setTimeout(publish, options.reloadEventDelayMs).unref()
    }
    return reply.code(answer.status).send(answer.body)
  })

  if (options.failover === true) applyFailover(fake)
  const stopTraffic = simulateTraffic(history, status, options.seedSeconds ?? 120, options.failover === true)
  fake.url = await admin.listen({ host: '127.0.0.1', port: 0 })
  return fake
}
