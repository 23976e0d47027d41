// What one case of the read/write split chaos is made of, and how fast-check generates it: clients (browsers with a
// cookie jar, API clients echoing x-read-after-write) sending writes and reads in concurrent batches, between
// changes to the environment (lag, replica and primary failures, the replica breaker, drain/disable, reloads of
// the route's reads settings) and steps of the gateway's wall clock.
import fc from 'fast-check'

export const REPLICAS = ['r1', 'r2', 'r3'] as const
export type Replica = typeof REPLICAS[number]
export type ReplicaPool = 'replicas' | 'replicasB'
/** r1 and r2 are in pool 'replicas', r3 in 'replicasB' (a reload may move the split there). */
export const POOL_OF: Record<Replica, ReplicaPool> = { r1: 'replicas', r2: 'replicas', r3: 'replicasB' }

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH'] as const
export type Method = typeof METHODS[number]

export interface ReadsModel {
  pool: ReplicaPool
  methods: Method[]
  stickyAfterWriteMs: number
  maxLagMs: number | undefined
}

/**
 * Tokens a client may send besides (or instead of) its own: none pins anything, and added beside a real cookie
 * none unpins it. Test-minted ones use the shared secret: a token valid in every way but one.
 */
export type Tamper =
  | 'forged-signature' // a fresh expiry with a made-up signature
  | 'moved-expiry' // the client's own cookie with its expiry moved later (signature no longer fits)
  | 'expired' // correctly signed, expired
  | 'too-far' // correctly signed, expiring further away than the window allows
  | 'other-route' // correctly signed for another route
  | 'other-secret' // signed with another deployment's secret
  | 'header-future' // x-read-after-write far in the future
  | 'header-old' // x-read-after-write older than the window
  | 'garbage' // malformed values in both
export const TAMPERS: readonly Tamper[] = ['forged-signature', 'moved-expiry', 'expired', 'too-far', 'other-route', 'other-secret', 'header-future', 'header-old', 'garbage']

export interface Op { method: Method; tamper: Tamper | undefined }

export type ClientKind = 'browser' | 'api'

export type Fault = 'refuse' | 'reset' | '5xx' | 'hang'

export type Step =
  | { kind: 'traffic'; ops: Op[][]; reloadMidway: ReadsModel | null | undefined }
  | { kind: 'lag'; replica: Replica; lagMs: number }
  | { kind: 'fail'; replica: Replica; fault: Fault }
  | { kind: 'recover'; replica: Replica }
  /** Every replica of a pool fails at once, or comes back: the reads' whole pool is out. */
  | { kind: 'outage'; pool: ReplicaPool | 'read-pool'; fault: Fault | undefined }
  | { kind: 'primary'; down: boolean }
  | { kind: 'breaker'; pool: ReplicaPool; state: 'open' | 'closed' }
  | { kind: 'admin'; replica: Replica; action: 'drain' | 'disable' | 'enable' }
  | { kind: 'reload'; reads: ReadsModel | null }
  | { kind: 'clock'; ms: number }

export interface Scenario {
  clients: ClientKind[]
  initial: ReadsModel
  steps: Step[]
}

const method = fc.constantFrom<Method>(...METHODS)

// Windows far longer than a case's real duration (a few seconds): the test moves the gateway's clock by hand
// and never meets a window's edge by accident.
export const readsModel: fc.Arbitrary<ReadsModel> = fc.record({
  pool: fc.constantFrom<ReplicaPool>('replicas', 'replicas', 'replicasB'),
  // GET always reads; HEAD usually; sometimes a method that is no read by nature (POST /search)
  methods: fc.tuple(fc.boolean(), fc.subarray(['POST', 'PUT', 'DELETE', 'PATCH'] as Method[], { maxLength: 1 })).map(([head, extra]) => ['GET' as Method, ...(head ? ['HEAD' as Method] : []), ...extra]),
  stickyAfterWriteMs: fc.constantFrom(30_000, 60_000, 300_000),
  maxLagMs: fc.constantFrom(undefined, 500, 2000),
})

const op: fc.Arbitrary<Op> = fc.record({
  // mostly reads: a write pins its client for a window the clock steps only now and then
  method: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<Method>('GET', 'HEAD') }, { weight: 2, arbitrary: method }),
  // one request in four adds a token of its own making
  tamper: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...TAMPERS) }),
})

function traffic (clients: number): fc.Arbitrary<Step> {
  return fc.record({
    kind: fc.constant('traffic' as const),
    ops: fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: clients, maxLength: clients }),
    // undefined: no reload during this batch; null: the reload removes the split
    reloadMidway: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.option(readsModel, { freq: 6, nil: null }) }),
  })
}

const replica = fc.constantFrom<Replica>(...REPLICAS)

const env: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('lag' as const), replica, lagMs: fc.constantFrom(0, 100, 1000, 5000) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('fail' as const), replica, fault: fc.constantFrom<Fault>('refuse', 'reset', '5xx', 'hang') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('recover' as const), replica }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('outage' as const), pool: fc.constantFrom<ReplicaPool | 'read-pool'>('read-pool', 'read-pool', 'replicas', 'replicasB'), fault: fc.constantFrom<Fault | undefined>('refuse', 'reset', '5xx', 'hang', 'hang', undefined) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('primary' as const), down: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('breaker' as const), pool: fc.constantFrom<ReplicaPool>('replicas', 'replicasB'), state: fc.constantFrom('open' as const, 'closed' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('admin' as const), replica, action: fc.constantFrom('drain' as const, 'disable' as const, 'enable' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reload' as const), reads: fc.option(readsModel, { freq: 6, nil: null }) }) },
  // a step inside any window, or past the longest one
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('clock' as const), ms: fc.constantFrom(1000, 20_000, 400_000, 400_000) }) },
)

export const scenario: fc.Arbitrary<Scenario> = fc.integer({ min: 2, max: 4 }).chain((n) => fc.record({
  clients: fc.array(fc.constantFrom<ClientKind>('browser', 'api'), { minLength: n, maxLength: n }),
  initial: readsModel,
  steps: fc.array(fc.oneof({ weight: 1, arbitrary: traffic(n) }, { weight: 1, arbitrary: env }), { minLength: 4, maxLength: 12 }),
}))

export function describeReads (r: ReadsModel | null): string {
  return r === null ? 'no split' : `${r.pool} [${r.methods.join(',')}] sticky ${r.stickyAfterWriteMs} lag ${r.maxLagMs ?? '-'}`
}

export function describeStep (s: Step): string {
  switch (s.kind) {
    case 'traffic': return `traffic ${s.ops.map((c) => c.map((o) => o.method + (o.tamper ? `(${o.tamper})` : '')).join(' ')).join(' | ')}${s.reloadMidway !== undefined ? ` + reload to ${describeReads(s.reloadMidway)}` : ''}`
    case 'lag': return `lag ${s.replica} ${s.lagMs}`
    case 'fail': return `fail ${s.replica} ${s.fault}`
    case 'recover': return `recover ${s.replica}`
    case 'outage': return s.fault === undefined ? `${s.pool} back` : `${s.pool} all ${s.fault}`
    case 'primary': return `primary ${s.down ? 'down' : 'up'}`
    case 'breaker': return `breaker ${s.pool} ${s.state}`
    case 'admin': return `${s.action} ${s.replica}`
    case 'reload': return `reload to ${describeReads(s.reads)}`
    case 'clock': return `clock +${s.ms}`
  }
}
