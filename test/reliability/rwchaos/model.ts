// What the test believes about the environment, and what it then allows a request of the split route to do.
// Choices where the README is silent, as an operator of a ProxySQL/MaxScale-style split (or Envoy/HAProxy) expects:
// - a read pinned by the client's own write goes to the primary and only there, even while the primary is down (a
//   stale read from a replica would break read-your-writes; the client gets the primary's failure instead);
// - a read that is not pinned is served by a replica that is in rotation and answers, else by the primary; it may
//   try replicas that fail in ways health checks do not see (resets, 5xx, hangs) on the way, never a replica that
//   is drained, disabled, lagging past maxLagMs or refused (once a probe has seen it), nor one of another pool;
// - a method outside reads.methods reaches the primary and nothing else, whatever else happens; a write (not a safe
//   method) pins its client's reads, a safe one (GET, HEAD) pins nothing (README, src/proxy/front.ts choosePool);
// - a replica's lag is judged against the strictest maxLagMs of the routes reading from its pool (here the one
//   route's): at each passing probe and at a reload that changes that limit; a replica the health checks take out
//   forgets its lag, and an unknown lag is lagging (README, src/health/active.ts).
import type { Fault, Method, ReadsModel, Replica, ReplicaPool } from './scenario.ts'
import { POOL_OF, REPLICAS } from './scenario.ts'

export interface ReplicaState {
  fault: Fault | undefined
  /**
   * Lag the replica reports now, and the last lag a probe could read: undefined once health checks marked the replica
   * unhealthy (a refused one), until a passing probe reports it again.
   */
  lagMs: number
  seenLagMs: number | undefined
  /**
   * Whether the gateway has it lagging: judged at each passing probe and at a reload that changes its pool's limit,
   * not when health checks take it out (its lag forgotten, the flag stays as last judged).
   */
  lagging: boolean
  admin: 'in' | 'drained' | 'disabled'
}

export class Model {
  reads: ReadsModel | null
  primaryDown = false
  readonly breakerOpen = new Set<ReplicaPool>()
  readonly replicas = new Map<Replica, ReplicaState>(REPLICAS.map((r) => [r, { fault: undefined, lagMs: 0, seenLagMs: 0, lagging: false, admin: 'in' }]))

  constructor (reads: ReadsModel) { this.reads = reads }

  /** The machine stalled (a late probe, an attempt past its per-try timeout): every read may have fallen back. */
  hiccup = false

  /** This model, but reads may have gone to the primary as if no replica answered. */
  withHiccup (): Model {
    const m = Object.create(this) as Model
    m.hiccup = true
    return m
  }

  isRead (method: Method, reads: ReadsModel | null = this.reads): boolean {
    return reads !== null && reads.methods.includes(method)
  }

  /** Passing probes read what each replica reports; a refused one failed them, was taken out and forgot its lag. */
  probed (): void {
    for (const [r, s] of this.replicas) {
      if (s.fault === 'refuse') s.seenLagMs = undefined
      else {
        s.seenLagMs = s.lagMs
        s.lagging = lagging(s.seenLagMs, maxLagOf(POOL_OF[r], this.reads))
      }
    }
  }

  /** A reload to `next`: a pool whose limit it changes judges each replica's last known lag at once. */
  reloaded (next: ReadsModel | null): void {
    for (const [r, s] of this.replicas) {
      const max = maxLagOf(POOL_OF[r], next)
      if (max !== maxLagOf(POOL_OF[r], this.reads)) s.lagging = lagging(s.seenLagMs, max)
    }
    this.reads = next
  }

  /** Replicas a read of `reads` may be sent to (failing ones health checks cannot see included). */
  inRotation (reads: ReadsModel): Replica[] {
    if (this.breakerOpen.has(reads.pool)) return []
    return REPLICAS.filter((r) => {
      const s = this.replicas.get(r)!
      return POOL_OF[r] === reads.pool && s.admin === 'in' && s.fault !== 'refuse' && !lagging(s.seenLagMs, reads.maxLagMs)
    })
  }

  /** Replicas in rotation that answer. */
  good (reads: ReadsModel): Replica[] {
    return this.inRotation(reads).filter((r) => this.replicas.get(r)!.fault === undefined)
  }
}

/** The pool's lag limit: the route's maxLagMs where it reads from the pool (one route here). */
function maxLagOf (pool: ReplicaPool, reads: ReadsModel | null): number | undefined {
  return reads !== null && reads.pool === pool ? reads.maxLagMs : undefined
}

/** Past the limit, or not known while there is one. */
function lagging (lagMs: number | undefined, maxLagMs: number | undefined): boolean {
  return maxLagMs !== undefined && (lagMs === undefined || lagMs > maxLagMs)
}

/** Safe methods (RFC 9110 §9.2.1) outside reads.methods go to the primary but are no write: they pin nothing. */
export function isWrite (method: Method): boolean {
  return method !== 'GET' && method !== 'HEAD'
}

export interface Observed {
  id: string
  client: number
  method: Method
  status: number
  /** The gateway's error code, for its own JSON errors. */
  code: string | undefined
  /** Who answered (the test upstream's x-upstream), or a client-side error. */
  servedBy: string | undefined
  clientError: string | undefined
  /** Every upstream the request reached (health probes excluded). */
  reached: string[]
  setCookie: boolean
  writeHeader: boolean
  /** Whether the client's own read-your-writes token went out with it. */
  ownSent: boolean
  tamper: string | undefined
  /** pinned by the model (undefined: too near a window's edge to say), under the settings in force. */
  pinned: boolean | undefined
  /** A read under the settings in force (undefined: a reload overlapped it). */
  read: boolean | undefined
  /** A reload ran while this batch was in flight: the settings before and after both apply. */
  overlapped: boolean
}

/** Why a finished request breaks a promise, or undefined. `reads`: the settings in force for it. */
export function judge (m: Model, o: Observed, reads: ReadsModel | null): string | undefined {
  const replicasReached = o.reached.filter((u) => u !== 'primary')
  const primaryFailure = (): string | undefined =>
    // the primary refuses connections: allowed answers while it is down (catalogue codes)
    // (a HEAD answer has no body to name its code in: the access log's is checked after the case)
    m.primaryDown && o.status === 502 && (o.code === 'upstream_unreachable' || (o.method === 'HEAD' && o.code === undefined)) ? undefined : `status ${o.status} ${o.code ?? ''} served by ${o.servedBy ?? o.clientError ?? '-'}`
  if (!m.isRead(o.method, reads)) {
    const what = isWrite(o.method) ? 'a write' : 'a safe method outside reads.methods'
    if (replicasReached.length > 0) return `${what} (${o.method}) reached ${replicasReached.join(', ')}`
    if (o.status !== 200 || o.servedBy !== 'primary') return primaryFailure()
    // a successful write through a split route answers with the read-your-writes cookie and header; nothing else does
    if (reads === null && (o.setCookie || o.writeHeader)) return `${what} through a route without a split was given a read-your-writes token`
    if (!isWrite(o.method) && (o.setCookie || o.writeHeader)) return `${what} (${o.method}) was given a read-your-writes token`
    if (reads !== null && isWrite(o.method) && !(o.setCookie && o.writeHeader)) return 'a successful write came back without its read-your-writes cookie and header'
    return undefined
  }
  if (o.setCookie) return 'a read was given a read-your-writes cookie'
  const r = reads!
  if (o.pinned === true) {
    if (replicasReached.length > 0) return `a read pinned by the client's own write reached ${replicasReached.join(', ')}`
    if (o.status !== 200 || o.servedBy !== 'primary') return primaryFailure()
    return undefined
  }
  const inRotation = m.inRotation(r)
  const good = m.good(r)
  const stray = replicasReached.filter((u) => !inRotation.includes(u as Replica))
  if (stray.length > 0) return `a read reached ${stray.join(', ')}, out of rotation (${describeReplicas(m)})`
  // a read that is not pinned (or too near its window's edge to say) and still went to the primary
  const toPrimaryAllowed = o.pinned === undefined || good.length === 0 || inRotation.length > good.length || m.hiccup
  const allowed: string[] = [...good, ...(toPrimaryAllowed ? ['primary'] : [])]
  if (o.status === 200 && allowed.includes(o.servedBy ?? '')) return undefined
  if (o.status === 200) return `a read${o.tamper !== undefined ? ` with a ${o.tamper} token` : ''} was served by ${o.servedBy}; allowed: ${allowed.join(', ')} (${describeReplicas(m)})`
  // failed: only when the primary it fell back to (or, near a window's edge, was pinned to) was down too
  if (good.length === 0 || inRotation.length > good.length || o.pinned === undefined || m.hiccup) return primaryFailure()
  return `a read failed with status ${o.status} ${o.code ?? ''} (served by ${o.servedBy ?? o.clientError ?? '-'}) while ${good.join(', ')} could answer`
}

export function describeReplicas (m: Model): string {
  const parts = REPLICAS.map((r) => {
    const s = m.replicas.get(r)!
    const bits = [s.fault, s.admin !== 'in' ? s.admin : undefined, s.seenLagMs === undefined ? 'lag unknown' : s.seenLagMs > 0 ? `lag ${s.seenLagMs}` : undefined, s.lagging ? 'lagging' : undefined].filter((b) => b !== undefined)
    return `${r}${bits.length > 0 ? ` ${bits.join(' ')}` : ''}`
  })
  return `${parts.join('; ')}${m.breakerOpen.size > 0 ? `; breaker open: ${[...m.breakerOpen].join(',')}` : ''}${m.primaryDown ? '; primary down' : ''}`
}
