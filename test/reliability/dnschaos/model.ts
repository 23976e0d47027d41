// What the gateway must show after each step of a DNS chaos case: the addresses its discovered pool targets (the
// answer it last applied, or the last good one kept through failures), and each one's state in /status. Steps are
// plain data (fast-check draws them; a failing one prints as JSON).
//
// What the README and src/discovery promise, and the choices made here where they say nothing:
// - a failed lookup (SERVFAIL, timeout, refused) keeps the last known set; NXDOMAIN and an empty answer are answers
//   ("no records") and empty a non-empty set once two lookups in a row agree (answer.ts);
// - a new address joins after a passing check when the pool has checks; a vanished one drains;
// - the record TTL is not read: refreshMs alone says when to look up again (Envoy's respect_dns_ttl: false);
// - a pool rebuilt by a reload keeps its targets' drain, disable and health by URL (README, hot reload), and, as
//   Envoy keeps a cluster's hosts through a cluster update, its last good answer for a name it still discovers;
// - unspecified: an address that leaves the answer is forgotten (drain, disable, health) and comes back as a new
//   target, as a host removed from and re-added to an Envoy cluster does; a renamed name's first answer decides its
//   set, and until one comes the old name's addresses keep serving (Envoy warms a changed cluster before it
//   replaces the old one; a failing resolver keeps them, as a failed lookup keeps any set); an address in both
//   keeps its state by URL, as the README promises for a rebuilt pool.

export const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'] as const
export type Address = typeof ADDRESSES[number]
export const NAMES = { a: 'api.dnschaos.test', b: 'api-v2.dnschaos.test' } as const
export type NameKey = keyof typeof NAMES
export type DnsMode = 'answer' | 'servfail' | 'hang'

export type Step =
  /** The current name's answer gets (or loses) one address. */
  | { kind: 'add' | 'remove'; address: Address }
  /** A name's whole answer replaced (maybe empty: an empty NOERROR answer). */
  | { kind: 'replace'; name: NameKey; addresses: Address[] }
  | { kind: 'nxdomain'; name: NameKey }
  | { kind: 'mode'; mode: DnsMode }
  /** A slow resolver: every answer this late (still within the gateway's per-try timeout). */
  | { kind: 'slow'; delayMs: number }
  | { kind: 'ttl'; ttl: number }
  /** A reload; with `then`, a second one right after the first, while the pool it built still does its first lookups. */
  | { kind: 'reload'; name: NameKey; refreshMs: number; health: boolean; then?: PoolSettings }
  | { kind: 'drain' | 'disable' | 'enable'; address: Address }
  | { kind: 'health'; address: Address; unhealthy: boolean }
  /** The pod dies (refuses connections) or comes back; DNS still answers its address either way. */
  | { kind: 'kill' | 'restart'; address: Address }
  | { kind: 'wait'; ms: number }

export interface PoolSettings {
  name: NameKey
  refreshMs: number
  health: boolean
}

export type ExpectedState = 'healthy' | 'unhealthy' | 'ejected' | 'drained' | 'disabled'

export class Model {
  readonly records = new Map<NameKey, Address[] | 'nxdomain'>()
  mode: DnsMode = 'answer'
  delayMs = 0
  ttl = 5
  settings: PoolSettings
  /** The addresses the gateway's pool targets now: the answer it applied last, or the last good one kept. */
  applied: Address[] = []
  /** Operator state of targets in the pool (forgotten when the address leaves the answer). */
  readonly ops = new Map<Address, { draining: boolean; disabled: boolean }>()
  /** Pods whose /health answers 503. */
  readonly unhealthy = new Set<Address>()
  /** Pods that refuse connections. */
  readonly down = new Set<Address>()

  constructor (settings: PoolSettings, records: Address[]) {
    this.settings = settings
    this.records.set(settings.name, records)
    this.#lookup()
  }

  get answering (): boolean { return this.mode === 'answer' }

  /** What the current name's answer is, as the gateway would apply it (NXDOMAIN: no records). */
  answerOf (name: NameKey): Address[] {
    const r = this.records.get(name)
    return r === undefined || r === 'nxdomain' ? [] : [...r].sort()
  }

  /** Applies a step; returns what the admin API must answer for operator steps (200, or 404 unknown_target). */
  apply (step: Step): number | undefined {
    const name = this.settings.name
    switch (step.kind) {
      case 'add':
      case 'remove': {
        const now = new Set(this.answerOf(name))
        if (step.kind === 'add') now.add(step.address)
        else now.delete(step.address)
        this.records.set(name, [...now].sort())
        break
      }
      case 'replace': this.records.set(step.name, [...new Set(step.addresses)].sort()); break
      case 'nxdomain': this.records.set(step.name, 'nxdomain'); break
      case 'mode': this.mode = step.mode; break
      case 'slow': this.delayMs = step.delayMs; break
      case 'ttl': this.ttl = step.ttl; break
      case 'reload': {
        for (const next of [{ name: step.name, refreshMs: step.refreshMs, health: step.health }, ...(step.then ? [step.then] : [])]) {
          // the same name keeps its last good answer through the rebuild; a renamed one's first answer decides, and
          // until one comes (a failing resolver) the old addresses keep serving, as a failed lookup keeps a set
          this.settings = next
        }
        break
      }
      case 'drain':
      case 'disable':
      {
        if (!this.applied.includes(step.address)) return 404
        const op = this.ops.get(step.address) ?? { draining: false, disabled: false }
        this.ops.set(step.address, step.kind === 'drain' ? { ...op, draining: true } : { ...op, disabled: true })
        return 200
      }
      case 'enable':
        if (!this.applied.includes(step.address)) return 404
        this.ops.delete(step.address)
        return 200
      case 'health':
        if (step.unhealthy) this.unhealthy.add(step.address)
        else this.unhealthy.delete(step.address)
        break
      case 'kill': this.down.add(step.address); break
      case 'restart': this.down.delete(step.address); break
      case 'wait': break
    }
    this.#lookup()
    return undefined
  }

  /** What /status may show for each target once the gateway has caught up (one state, or a dead pod's two). */
  expected (): Map<string, readonly ExpectedState[]> {
    const out = new Map<string, readonly ExpectedState[]>()
    for (const a of this.applied) out.set(a, this.statesOf(a))
    return out
  }

  statesOf (a: Address): readonly ExpectedState[] {
    const op = this.ops.get(a)
    if (op?.disabled === true) return ['disabled']
    if (op?.draining === true) return ['drained']
    if (this.settings.health && (this.unhealthy.has(a) || this.down.has(a))) return ['unhealthy']
    // unchecked, a dead pod is ejected by outlier detection once enough requests failed on it, if they did
    if (this.down.has(a)) return ['healthy', 'ejected']
    return ['healthy']
  }

  /** Addresses the pool may send new requests to, and that answer them, once the gateway has caught up. */
  eligible (): Address[] {
    return this.applied.filter((a) => !this.down.has(a) && this.statesOf(a)[0] === 'healthy')
  }

  /** Addresses the pool may send new requests to once caught up, dead or alive (what the model allows to answer). */
  servable (): Address[] {
    return this.applied.filter((a) => { const states = this.statesOf(a); return states.includes('healthy') || states.includes('ejected') })
  }

  /**
   * Dead pods the pool may still pick (not taken out by an operator; checks may not have noticed yet): each may cost
   * a request one try, so as many as the retry policy has attempts may fail it.
   */
  deadCandidates (): Address[] {
    return this.applied.filter((a) => this.down.has(a) && this.ops.get(a)?.disabled !== true && this.ops.get(a)?.draining !== true)
  }

  /** A working resolver's answer replaces the set; a failing one leaves it (a renamed name's old addresses too). */
  #lookup (): void {
    if (this.answering) this.#set(this.answerOf(this.settings.name))
  }

  #set (next: Address[]): void {
    const kept = new Set(next)
    for (const a of this.applied) if (!kept.has(a)) this.ops.delete(a)
    this.applied = next
  }
}

export function describe (step: Step): string {
  return JSON.stringify(step)
}
