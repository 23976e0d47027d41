// One upstream target: where it is, how much it should carry, its kept-alive connection pool and its requests
// in flight. Its availability (health, ejection, drain, operator) is kept by its pool, the one owner of target state.
// A reload that changes a target's weight, backup flag or pool settings makes a new Target for the same upstream;
// every copy shares one SharedTarget, so what the upstream carries (and may carry) is counted once, whichever copy
// started it.
import { isIP } from 'node:net'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { Client as UndiciClient, type buildConnector } from 'undici'
import { canonicalDnsName, targetIdOf, type PoolConfig, type TargetConfig } from '../config/schema.ts'
import { TargetConnections, type ConnectionsOptions } from './connections.ts'
import { resetAwareConnector } from './connector.ts'

/**
 * What every copy of one target shares (Envoy keeps a host's active requests and HAProxy a server's sessions across
 * a weight change the same way): attempt counts, requests in flight and waiting for a connection, open WebSocket
 * tunnels, and the kept-alive connections, so balancers and limits see the upstream's real load and
 * connections.maxPerTarget holds across a reload. A copy that comes back while an older one still carries requests
 * (removed, then added again) takes it over too. It refers to no pool but the newest copy's, through `loadListener`:
 * a reload carries it to the new copy as plain state.
 */
export class SharedTarget {
  /** Attempts sent to the upstream since start, through any copy. */
  requests = 0
  /** Of those, the ones the target failed. */
  failures = 0
  /** Requests in flight through any copy. */
  inFlight = 0
  /** Attempts handed to the connections that undici has not started yet, through any copy. */
  queued = 0
  /** How to close each WebSocket tunnel open to the upstream (each is also in flight). */
  readonly tunnels = new Set<() => void>()
  /** The copies' connections, made on the first request through any of them, with the newest copy's settings. */
  connections: TargetConnections | undefined
  /** The copy made last: an older copy's requests are told to its pool (a plain field: acquire() compares it). */
  newest: Target | undefined
  /** Copies not closed yet: the last one to close closes the connections (what the others carry finishes first). */
  open = 0
  /**
   * The newest copy's pool hears when an older copy starts or ends a request: its balancer keeps scores per target
   * object, and a drain of the newest copy is done when the upstream's last request ends, whichever copy ran it.
   */
  loadListener: (() => void) | undefined
  #options: ConnectionsOptions | undefined
  #optionsKey = ''
  /** The copies' health-probe connection, while one made with the same settings is open. */
  #probe: SharedProbe | undefined

  /** The settings connections are made with: the newest copy's. */
  get options (): ConnectionsOptions { return this.#options! }

  /**
   * The target was removed from its pool and is added back while a removed copy still carries requests: its load and
   * connections are still the upstream's, but its counts start again, as its metric series did when it was removed.
   */
  restartCounts (): void {
    this.requests = 0
    this.failures = 0
    this.generation++
  }

  /** Counts restarted this many times: a removed copy's requests that end afterwards count in none (countsIn). */
  generation = 0

  /**
   * A new copy of the target takes over: its settings apply to connections made from now on (those open under
   * other settings finish what they carry, then close, still counted against the limit).
   */
  adopt (copy: Target, options: ConnectionsOptions, optionsKey: string): void {
    // every copy closed (or the newest destroyed) before this one came: those connections take nothing more
    if (this.connections?.closed === true) this.connections = undefined
    if (optionsKey !== this.#optionsKey) {
      this.#options = options
      this.#optionsKey = optionsKey
      this.connections?.configure(options)
    }
    this.newest = copy
    this.open++
  }

  /**
   * The probe client for a copy made with these settings: the one the copies share while it is open and made with
   * the same ones, else a new one. A pool rebuilt by a reload keeps probing on the connection its checks had, as its
   * traffic does: a reload rebuilding 200 pools of 5 opened 1,000 probe connections and closed 1,000 in one turn.
   */
  probeFor (key: string, make: () => UndiciClient): SharedProbe {
    const current = this.#probe
    const probe = current !== undefined && current.key === key && current.ended === undefined ? current : this.#probe = { client: make(), key, users: 0, ended: undefined }
    probe.users++
    return probe
  }
}

/** One probe client and the copies probing on it: the last of them to end ends it. */
interface SharedProbe {
  readonly client: UndiciClient
  readonly key: string
  users: number
  ended: 'close' | 'destroy' | undefined
}

export class Target {
  readonly url: string
  /** host:port, as the admin API and metrics name a target. */
  readonly id: string
  /** host[:port] as a Host header carries it to this target (a discovered address: its DNS name and port). */
  readonly host: string
  readonly weight: number
  readonly backup: boolean
  /**
   * Health probes get their own connection, so a target busy with traffic is not judged by queueing; copies made
   * with the same settings share it (SharedTarget.probeFor).
   */
  get probeClient (): UndiciClient { return this.#probe.client }
  readonly #probe: SharedProbe
  /**
   * What undici keys an https target's connections by, given with every request so that it is the same on each (by
   * default undici takes the request's Host, and drops the connection whenever it changes): the name the connection
   * verifies, else the target's address. The connector verifies the connection's own name, never this one.
   */
  readonly servername: string | undefined
  readonly #shared: SharedTarget
  /** The shared counts' generation this copy counts in (a copy of a removed target's stops counting at its return). */
  readonly #countsIn: number
  /**
   * The connections this copy sends on, once asked for: the shared ones, which are replaced only once they are closed
   * (every copy closed, or the newest destroyed), so a copy never needs to look again.
   */
  #client: TargetConnections | undefined
  /** A pool first asked for by this copy after it ended, while no copy had made one: refuses requests. */
  #endedClient: TargetConnections | undefined
  #ended: 'close' | 'destroy' | undefined
  /** No other copy was open when this one ended: the shared connections ended with it. */
  #lastOpen = false
  #ending: Promise<void> | undefined
  /** This copy no longer probes on the shared probe client (closed or destroyed); it was the last, and ended it. */
  #probeReleased = false
  #probeEndedHere = false
  /** Requests started through this copy (its pool closes it once a removed copy has none left). */
  #ownInFlight = 0
  readonly #maxQueued: number

  /**
   * `servername`: the TLS name to verify when the URL holds an address (a DNS-discovered target: the DNS name).
   * `shared`: that of the copy this one replaces (a reload changed its weight, backup flag or pool settings).
   */
  constructor (config: TargetConfig, pool: PoolConfig, servername?: string, shared: SharedTarget = new SharedTarget()) {
    this.#shared = shared
    // a discovered name goes as lookups compare it: lower case (RFC 4343; a reload that only respells it keeps the
    // pool, and one spelling serves the addresses found before and after) and without the root dot a name written
    // fully qualified has ('svc.example.': Kubernetes users write it to skip the resolver's search list), in Host and
    // in SNI (RFC 6066 §3), as the upstream's virtual hosts and certificates name it
    if (servername !== undefined) servername = canonicalDnsName(servername)
    const url = new URL(config.url)
    this.url = url.origin
    // the Host preserveHost: false sends: a discovered address's is its DNS name's (as its TLS name is, and as nginx's
    // proxy_pass to a name sends), so a virtual-hosting upstream sees the name it serves, never a pod address; a
    // name written fully qualified goes without its root dot, as in SNI
    const hostName = servername ?? withoutRootDot(url.hostname)!
    this.host = url.port === '' ? hostName : `${hostName}:${url.port}`
    this.id = targetIdOf(url)
    this.weight = config.weight
    this.backup = config.backup
    this.#maxQueued = pool.connections.maxQueuedPerTarget
    const isIp = /^[\d.]+$|^\[/.test(url.hostname)
    const https = url.protocol === 'https:'
    // the TLS name to send and verify: the pool's tls.servername, the DNS name an address was discovered by, else the
    // target's host name; none for an IP address (RFC 6066 §3), whose certificate is checked against the address
    const verified = https ? withoutRootDot(pool.tls.servername ?? servername ?? (isIp ? undefined : url.hostname)) : undefined
    this.servername = https ? (verified ?? url.hostname) : undefined
    // tls.servername may be an address, as nginx's proxy_ssl_name may: the certificate must name it, and no SNI is
    // sent (RFC 6066 §3), whatever the target's host ('[::1]' is written as in a URL, checked without brackets)
    const unbracketed = verified?.replace(/^\[(.*)\]$/, '$1')
    const verifiedIp = unbracketed !== undefined && isIP(unbracketed) !== 0 ? unbracketed : undefined
    const connect = {
      timeout: pool.timeouts.connectMs,
      // undici verifies certificates by default; a pool opts out explicitly.
      rejectUnauthorized: pool.tls.rejectUnauthorized,
      ...(pool.tls.ca ? { ca: pool.tls.ca } : {}),
      ...(verifiedIp !== undefined ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(verifiedIp, cert) }
        : verified ? { servername: verified } : {}),
    }
    // Bounded per attempt by the proxy; these are the outer limits. The headers limit is never below the request
    // deadline; at the body's (the default: idle 60 s ≥ request 30 s) undici refreshes one timer per response
    // instead of replacing it twice (a timer allocated and cleared per request).
    const headersTimeout = Math.max(pool.timeouts.requestMs, pool.timeouts.idleMs)
    // the traffic connections are set up on the first request: a target that never gets one (a backup, a pool of a
    // thousand at start-up) costs nothing for them; health probes have their own client below
    const options: ConnectionsOptions = {
      connections: pool.connections.maxPerTarget,
      keepAliveTimeout: pool.connections.keepAliveMs,
      // an upstream's `Keep-Alive: timeout=N` hint may shorten the idle time, never lengthen it (undici would take
      // it up to 10 min): the proxy's own idle timeout decides, as nginx's, Envoy's and HAProxy's does
      keepAliveMaxTimeout: pool.connections.keepAliveMs,
      // HTTP/1.1 semantics end to end (undici 8 would negotiate h2 over TLS, which cannot carry WebSocket upgrades)
      allowH2: false,
      // undici's connector for these options (allowH2 as above), with a precise connect timeout, telling attempts
      // when an end is a reset
      connect: withoutSni(resetAwareConnector({ ...connect, allowH2: false }), verifiedIp !== undefined),
      headersTimeout,
      bodyTimeout: pool.timeouts.idleMs,
      // response heads larger than this are refused (a bad response); undici's default is Node's 16 KiB. undici
      // refuses a head that reaches its limit, and the setting is the most bytes taken: one more
      maxHeaderSize: pool.maxResponseHeaderBytes + 1,
    }
    // a copy made with the same settings keeps the connections as they are (a weight or backup change)
    // (verifiedIp: JSON leaves out the function that checks the certificate against it)
    const optionsKey = JSON.stringify([connect, verifiedIp, options.connections, options.keepAliveTimeout, headersTimeout, options.bodyTimeout, options.maxHeaderSize])
    shared.adopt(this, options, optionsKey)
    this.#countsIn = shared.generation
    // probes read the same heads as traffic (a target is not unhealthy for headers its requests are served with),
    // over traffic's connector, so named as traffic's connections are: a probe's Host (the target's) must not become
    // its TLS name in place of tls.servername (undici names a request by its Host when its connector does not name it)
    const probeKey = JSON.stringify([connect, verifiedIp, pool.connections.keepAliveMs, pool.maxResponseHeaderBytes])
    this.#probe = shared.probeFor(probeKey, () => new UndiciClient(url.origin, {
      allowH2: false,
      keepAliveTimeout: pool.connections.keepAliveMs,
      keepAliveMaxTimeout: pool.connections.keepAliveMs,
      connect: options.connect,
      maxHeaderSize: pool.maxResponseHeaderBytes + 1,
    }))
  }

  /** What every copy of this target shares (the copy a reload makes next takes it over). */
  get shared (): SharedTarget { return this.#shared }

  /**
   * The kept-alive connections that carry this target's traffic (every copy's: one limit for the upstream): one field
   * load per request once made.
   */
  get client (): TargetConnections {
    return this.#client ?? this.#newClient()
  }

  #newClient (): TargetConnections {
    const shared = this.#shared
    if (shared.connections !== undefined) return this.#client = shared.connections
    const client = new TargetConnections(this.url, shared.options)
    if (this.#ended === undefined) return this.#client = shared.connections = client
    // first asked for after close() or destroy(): it refuses requests as the closed one would have; it is this copy's
    // own, so that another copy's requests never meet it
    if (this.#ended === 'close') void client.close()
    else void client.destroy()
    return this.#client = this.#endedClient = client
  }

  /** Attempts handed to the connection pool that undici has not started yet (queued, or a connection opening). */
  get queued (): number { return this.#shared.queued }

  /** connections.maxQueuedPerTarget attempts wait already (through any copy): another is refused or not sent. */
  get queueFull (): boolean { return this.#shared.queued >= this.#maxQueued }

  /** An attempt waits for a connection, until undici starts it or ends it; each enqueue() is matched by a dequeue(). */
  enqueue (): void { this.#shared.queued++ }
  dequeue (): void { this.#shared.queued-- }

  /** Requests in flight to this upstream, through any copy of the target (the balancers read it). */
  get inFlight (): number { return this.#shared.inFlight }

  /** Requests started through this copy and not yet ended (a removed copy closes once it has none). */
  get ownInFlight (): number { return this.#ownInFlight }

  /** A request starts on this target; every acquire() is matched by one release() (through the pool). */
  acquire (): void {
    this.#ownInFlight++
    const shared = this.#shared
    shared.inFlight++
    if (shared.newest !== this) shared.loadListener?.()
  }

  /**
   * Whether this copy's requests still count (in the target's counts and its metric series): not once it was removed
   * and the target came back while it still carried requests (their counts had been forgotten, and started again).
   */
  get counting (): boolean { return this.#countsIn === this.#shared.generation }

  /** A request ended (failed: the target's fault); returns how many this copy still has in flight. */
  release (failed = false): number {
    const shared = this.#shared
    if (this.counting) {
      shared.requests++
      if (failed) shared.failures++
    }
    shared.inFlight--
    if (shared.newest !== this) shared.loadListener?.()
    return --this.#ownInFlight
  }

  /** Open WebSocket tunnels to the upstream, through any copy (counted in inFlight too: a drain waits for them). */
  get tunnels (): number { return this.#shared.tunnels.size }

  /** A tunnel to this target opened; `close` ends it, both sides, and must call tunnelClosed(close). */
  tunnelOpened (close: () => void): void { this.#shared.tunnels.add(close) }
  tunnelClosed (close: () => void): void { this.#shared.tunnels.delete(close) }

  /** Closes every tunnel open to the upstream, through any copy (an operator disabled it); returns how many. */
  closeTunnels (): number {
    const open = [...this.#shared.tunnels]
    for (const close of open) close()
    return open.length
  }

  /** Attempts sent to this upstream since start (through any copy). */
  get requests (): number { return this.#shared.requests }
  /** Attempts the target failed (a failure status, connect failure, reset, timeout, bad response). */
  get failures (): number { return this.#shared.failures }

  /**
   * Closes once, however often it is called: a retiring target is closed by its pool's close() and again when its
   * last request ends, and undici's close() of a client already closed (or destroyed) rejects. The last copy open
   * closes the shared connections (gracefully: what older copies still carry on them finishes); one closing while a
   * copy is still open (a removed copy whose upstream came back) leaves them to it.
   */
  close (): Promise<void> {
    if (this.#ending !== undefined) return this.#ending
    this.#end('close')
    return this.#ending = Promise.all([this.#lastOpen ? this.#shared.connections?.close() : undefined, this.#endedClient?.close(), this.#endProbe('close')]).then(done)
  }

  /**
   * Cuts what is in flight (a close() still waiting included); once, as close() is. The newest copy's (or the last
   * open one's) cuts every copy's.
   */
  destroy (): Promise<void> {
    if (this.#ended === 'destroy') return this.#ending!
    this.#end('destroy')
    const shared = this.#shared
    const cutShared = this.#lastOpen || shared.newest === this
    return this.#ending = Promise.all([cutShared ? shared.connections?.destroy() : undefined, this.#endedClient?.destroy(), this.#endProbe('destroy')]).then(done)
  }

  /**
   * This copy stops probing: the last copy on the probe client closes (or destroys) it, and a destroy after that close
   * cuts what the close still waits for. While other copies probe on it, it stays theirs.
   */
  #endProbe (how: 'close' | 'destroy'): Promise<void> | undefined {
    const probe = this.#probe
    if (!this.#probeReleased) {
      this.#probeReleased = true
      if (--probe.users > 0) return undefined
      this.#probeEndedHere = true
      probe.ended = how
      return how === 'close' ? probe.client.close() : probe.client.destroy()
    }
    if (how === 'destroy' && this.#probeEndedHere && probe.ended === 'close') {
      probe.ended = 'destroy'
      return probe.client.destroy()
    }
    return undefined
  }

  /** This copy ends: counted out of the open copies once, whether it is closed, destroyed or both. */
  #end (how: 'close' | 'destroy'): void {
    if (this.#ended === undefined) this.#lastOpen = --this.#shared.open === 0
    this.#ended = how
  }
}

function done (): void {}

/**
 * The connector, sending no SNI when `noSni`: undici names a TLS connection by the target's host when the connector
 * gives it no name, so a target given by DNS name would send that name, not none, with an address as tls.servername.
 */
function withoutSni (connector: buildConnector.connector, noSni: boolean): buildConnector.connector {
  if (!noSni) return connector
  return ({ host: _host, ...options }, callback) => connector(options, callback)
}

/** A TLS name goes without the root dot of a fully qualified name (RFC 6066 §3: "without a trailing dot"). */
function withoutRootDot (name: string | undefined): string | undefined {
  return name?.endsWith('.') ? name.slice(0, -1) : name
}
