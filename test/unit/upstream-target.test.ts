// A target (src/upstream/target.ts): each subtest is one behaviour, named as its file was.
import { once } from 'node:events'
import t from 'tap'
import { Target } from '../../src/upstream/target.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'
import { poolConfig } from './config-fixtures.ts'
import { validateConfig } from '../../src/config/validate.ts'
import type { Socket } from 'node:net'
import { LeastConnectionsBalancer } from '../../src/balancer/least-connections.ts'
import { UpstreamPool } from '../../src/upstream/pool.ts'
import { CertificateMaker } from '../helpers/certificates.ts'

// A target's traffic pool (src/upstream/target.ts) is made on first use, once; after close() or destroy() a pool
// first asked for then refuses requests as the closed one would have. A destroy() while a close() still waits for a
// request in flight cuts that request (the close waits for nothing more): destroy is how a caller stops waiting.
// close() after destroy() resolves: a target ends once, however it is asked (undici's close() of a destroyed client
// rejects, and a pool's close() awaits every target's).
t.test('upstream-target-client', async (t) => {
  const config = poolConfig({ targets: [{ url: 'http://127.0.0.1:1' }] })

  /** The error code a dispatch through the target's pool ends with. */
  function dispatchError (target: Target): Promise<string | undefined> {
    return new Promise((resolve) => {
      try {
        target.client.dispatch({ origin: target.url, path: '/', method: 'GET' }, {
          onRequestStart () {},
          onResponseStart () {},
          onResponseData () {},
          onResponseEnd () { resolve(undefined) },
          onResponseError (_controller: unknown, err: Error & { code?: string }) { resolve(err.code) },
        })
      } catch (err) {
        resolve((err as { code?: string }).code)
      }
    })
  }

  t.test('made once, on first use', async (t) => {
    const target = new Target(config.targets[0]!, config)
    t.teardown(() => target.destroy())
    const first = target.client
    t.equal(target.client, first)
    t.equal(first.closed, false)
  })

  t.test('never used: close() and destroy() need no pool', async (t) => {
    const target = new Target(config.targets[0]!, config)
    await target.close()
    await target.destroy()
    t.pass()
  })

  t.test('first asked for after close(): closed', async (t) => {
    const target = new Target(config.targets[0]!, config)
    await target.close()
    t.equal(target.client.closed, true)
    t.equal(await dispatchError(target), 'UND_ERR_CLOSED')
  })

  t.test('first asked for after destroy(): destroyed', async (t) => {
    const target = new Target(config.targets[0]!, config)
    await target.destroy()
    t.equal(target.client.destroyed, true)
    t.equal(await dispatchError(target), 'UND_ERR_DESTROYED')
  })

  t.test('used, then closed: the same pool is closed', async (t) => {
    const target = new Target(config.targets[0]!, config)
    const used = target.client
    await target.close()
    t.equal(used.closed, true)
    t.equal(target.client, used)
  })

  t.test('destroy() while close() waits for a request in flight: the request is cut', async (t) => {
    const up = await TestUpstream.start()
    up.mode = 'hang'
    t.teardown(() => up.close())
    // the request's own limits at 5 s: a destroy() that left the close waiting would see it end by them, not cut
    const hanging = poolConfig({ targets: [up.url], timeouts: { requestMs: 5000, idleMs: 5000 } })
    const target = new Target(hanging.targets[0]!, hanging)
    const received = once(up.server, 'request')
    const outcome = get(target.client, '/a')
    await received
    const closing = target.close()
    await target.destroy()
    t.equal(await outcome, 'UND_ERR_DESTROYED', 'cut by the destroy')
    await closing
    t.equal(target.client.destroyed, true)
  })
})

// A target named fully qualified, with its root dot ('api.example.com.': the usual way to skip the resolver's search
// list under Kubernetes' ndots:5), is sent without the dot: as the Host a pool with preserveHost false sends, and as
// its TLS name (RFC 6066 §3: SNI "without a trailing dot"), whether the name is a fixed target's or a discovered
// one's. Upstream virtual hosts and certificates name the host without it (Envoy: strip_trailing_host_dot).
// (src/upstream/target.ts, the constructor: withoutRootDot.) The pool's tls.servername, when set, is the TLS name
// whatever name an address was discovered by (docs: tls.servername names what the certificates are checked against).
t.test('upstream-target-root-dot', async (t) => {
  const cases: Array<[url: string, discoveredAs: string | undefined, host: string, servername: string | undefined]> = [
    ['https://api.example.com.:8443', undefined, 'api.example.com:8443', 'api.example.com'],
    ['https://api.example.com.', undefined, 'api.example.com', 'api.example.com'],
    ['http://api.example.com.:8080', undefined, 'api.example.com:8080', undefined],
    ['https://api.example.com:8443', undefined, 'api.example.com:8443', 'api.example.com'],
    ['https://10.0.0.7:8443', 'api.example.com.', 'api.example.com:8443', 'api.example.com'],
    ['http://10.0.0.7', 'api.example.com.', 'api.example.com', undefined],
    ['http://[::1]:8080', undefined, '[::1]:8080', undefined],
    ['https://10.0.0.7:8443', undefined, '10.0.0.7:8443', '10.0.0.7'],
  ]

  for (const [url, discoveredAs, host, servername] of cases) {
    t.test(`${url}${discoveredAs === undefined ? '' : ` (discovered as ${discoveredAs})`}: Host ${host}`, async (t) => {
      const config = validateConfig({ pools: { p: { preserveHost: false, targets: [url] } }, routes: [{ path: '/', pool: 'p' }] })
      const pool = config.pools.p!
      const target = new Target(pool.targets[0]!, pool, discoveredAs)
      t.teardown(() => target.close())
      t.equal(target.host, host, 'Host')
      t.equal(target.servername, servername, 'the TLS name')
    })
  }

  t.test('a discovered address: the pool\'s tls.servername comes before the DNS name it was found by', async (t) => {
    const config = validateConfig({ pools: { p: { targets: ['https://10.0.0.7:8443'], tls: { servername: 'cert.example.com' } } }, routes: [{ path: '/', pool: 'p' }] })
    const pool = config.pools.p!
    const target = new Target(pool.targets[0]!, pool, 'api.example.com')
    t.teardown(() => target.close())
    t.equal(target.servername, 'cert.example.com', 'the TLS name')
    t.equal(target.host, 'api.example.com:8443', 'the Host stays the discovered name')
  })
})

// Copies of one target (a reload changed its weight or its pool's settings) share one SharedTarget: the load is the
// upstream's, so an older copy's request counts on the newest copy while it runs and is counted down once when it
// ends; the last open copy's close closes the shared connections; the pool lists the target once (an older copy's
// requests are the current one's) and closes the older copy when its own requests are done. A copy made with the
// same settings keeps the idle kept-alive connections (a weight change reconnects nothing); one made after every copy
// closed gets new connections, never the closed ones (which would refuse every request). A copy whose TLS settings
// changed makes its connections with them: verification a reload turned on applies to the next connection. The
// newest copy's destroy() cuts what every copy carries (an older copy still open included); an older copy closed and
// then destroyed is counted out once, so it leaves the newest copy's connections serving. A request an older copy
// starts after a reload (a retry of the replaced pool's) counts on the newest copy's balancer at once.
t.test('upstream-target-shared', async (t) => {
  const config = poolConfig({ targets: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }] })
  const reweighted = poolConfig({ targets: [{ url: 'http://127.0.0.1:1', weight: 3 }, { url: 'http://127.0.0.1:2' }] })

  t.test('an older copy\'s requests count on the newest, once each', async (t) => {
    const old = new Target(config.targets[0]!, config)
    old.acquire()
    old.acquire()
    const copy = new Target(reweighted.targets[0]!, reweighted, undefined, old.shared)
    t.teardown(() => Promise.all([old.destroy(), copy.destroy()]))
    t.equal(copy.inFlight, 2, 'the new copy sees the upstream\'s load')
    copy.acquire()
    t.strictSame([old.inFlight, old.ownInFlight, copy.inFlight, copy.ownInFlight], [3, 2, 3, 1])
    t.equal(old.release(), 1)
    t.equal(old.release(true), 0, 'the old copy\'s own count')
    t.strictSame([copy.inFlight, copy.requests, copy.failures], [1, 2, 1], 'counted down once each, attempts counted')
    copy.release()
    t.equal(copy.inFlight, 0)
  })

  t.test('the copies share connections; only the newest copy\'s close closes them', async (t) => {
    const old = new Target(config.targets[0]!, config)
    const connections = old.client
    const copy = new Target(reweighted.targets[0]!, reweighted, undefined, old.shared)
    t.equal(copy.client, connections, 'a weight change keeps the connections')
    await old.close()
    t.equal(connections.closed, false, 'an older copy closing leaves them open')
    t.equal(copy.client, connections)
    await copy.close()
    t.equal(connections.closed, true)
  })

  t.test('the pool lists the target once, tells the balancer of an older copy\'s load, and closes the copy when done', async (t) => {
    const balancer = new LeastConnectionsBalancer(() => 0)
    const [a, b] = config.targets.map((tc) => new Target(tc, config))
    const pool = new UpstreamPool('p', config, [a!, b!], balancer)
    t.teardown(() => pool.close())
    for (let i = 0; i < 4; i++) pool.acquire(a!)
    pool.acquire(b!)
    const a2 = new Target(reweighted.targets[0]!, reweighted, undefined, a!.shared)
    pool.setTargets([a2, b!], reweighted)
    t.strictSame(pool.retiring, [], 'the older copy is not listed apart')
    t.equal(pool.pick({})!.id, b!.id, 'b (1 in flight) before a (4 of weight 3)')
    for (let i = 0; i < 4; i++) pool.release(a!)
    t.equal(a2.inFlight, 0)
    // a2 is now idle: only a balancer that heard of the older copy's releases picks it
    t.equal(pool.pick({})!.id, a2.id, 'the balancer heard the older copy\'s requests end')
    pool.acquire(a2)
    pool.release(a2)
    pool.release(b!)
    t.equal(a2.client.closed, false, 'the older copy closed without closing the shared connections')
  })

  t.test('a drain of the current copy is done when the older copy\'s last request ends', async (t) => {
    const [a, b] = config.targets.map((tc) => new Target(tc, config))
    const pool = new UpstreamPool('p', config, [a!, b!], new LeastConnectionsBalancer(() => 0))
    t.teardown(() => pool.close())
    pool.acquire(a!)
    const a2 = new Target(reweighted.targets[0]!, reweighted, undefined, a!.shared)
    pool.setTargets([a2, b!], reweighted)
    const drained: string[] = []
    pool.on('drained', (target) => drained.push(target === a2 ? 'a2' : target === a ? 'a' : 'b'))
    pool.setStatus(a2, { draining: true })
    t.equal(pool.state(a2), 'draining', 'the older copy still has a request')
    t.strictSame(drained, [])
    pool.release(a!)
    t.equal(pool.state(a2), 'drained')
    t.strictSame(drained, ['a2'], 'one event, for the copy the pool lists')
  })

  t.test('a copy made after every copy closed gets open connections, not the closed ones', async (t) => {
    const old = new Target(config.targets[0]!, config)
    const closed = old.client
    await old.close()
    t.equal(closed.closed, true)
    const back = new Target(reweighted.targets[0]!, reweighted, undefined, old.shared)
    t.teardown(() => back.destroy())
    t.not(back.client, closed, 'new connections')
    t.equal(back.client.closed, false, 'that take requests')
  })

  t.test('a weight change keeps the idle connections: the next request reuses one', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const sockets: Socket[] = []
    up.server.on('connection', (s: Socket) => { sockets.push(s) })
    // one connection at most: the second request waits for the first's, unless the copy retired it
    const at = (weight: number) => poolConfig({ targets: [{ url: up.url, weight }], connections: { maxPerTarget: 1 } })
    const old = new Target(at(1).targets[0]!, at(1))
    t.equal(await get(old.client, '/a'), 200)
    const copy = new Target(at(3).targets[0]!, at(3), undefined, old.shared)
    t.teardown(() => Promise.all([old.destroy(), copy.destroy()]))
    t.equal(await get(copy.client, '/b'), 200)
    t.equal(sockets.length, 1, 'one connection for both requests')
    t.equal(sockets[0]!.destroyed, false, 'still open')
  })

  t.test('a reload that turns certificate verification on: the next connection is verified', async (t) => {
    const certs = new CertificateMaker()
    t.teardown(() => certs.remove())
    const up = await TestUpstream.start({ tls: certs.selfSigned('self', 'IP:127.0.0.1') })
    t.teardown(() => up.close())
    const unverified = poolConfig({ targets: [up.url], tls: { rejectUnauthorized: false } })
    const verified = poolConfig({ targets: [up.url] })
    const old = new Target(unverified.targets[0]!, unverified)
    t.equal(await get(old.client, '/a'), 200, 'served unverified')
    const copy = new Target(verified.targets[0]!, verified, undefined, old.shared)
    t.teardown(() => Promise.all([old.destroy(), copy.destroy()]))
    const outcome = await get(copy.client, '/b')
    t.type(outcome, 'string', `an untrusted certificate fails the connection (${outcome})`)
    t.equal(up.hits, 1, 'nothing sent over an unverified connection after the reload')
  })

  t.test('the newest copy\'s destroy() cuts what an older copy still carries', async (t) => {
    const up = await TestUpstream.start()
    up.mode = 'hang'
    t.teardown(() => up.close())
    // the request's own limits at 5 s: left uncut, it would end by them instead
    const at = (weight: number) => poolConfig({ targets: [{ url: up.url, weight }], timeouts: { requestMs: 5000, idleMs: 5000 } })
    const old = new Target(at(1).targets[0]!, at(1))
    const received = once(up.server, 'request')
    const outcome = get(old.client, '/a')
    await received
    const copy = new Target(at(3).targets[0]!, at(3), undefined, old.shared)
    t.teardown(() => old.destroy())
    await copy.destroy()
    t.equal(await outcome, 'UND_ERR_DESTROYED', 'the older copy\'s request is cut')
  })

  t.test('an older copy closed, then destroyed, leaves the newest copy\'s connections serving', async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    const at = (weight: number) => poolConfig({ targets: [{ url: up.url, weight }] })
    const old = new Target(at(1).targets[0]!, at(1))
    t.equal(await get(old.client, '/a'), 200)
    const copy = new Target(at(3).targets[0]!, at(3), undefined, old.shared)
    t.teardown(() => copy.destroy())
    await old.close()
    await old.destroy()
    t.equal(await get(copy.client, '/b'), 200, 'the newest copy still serves')
    await copy.close()
    t.equal(copy.client.closed, true, 'and its close, the last, closes them')
  })

  t.test('a request the replaced pool starts on an older copy counts on the new pool\'s balancer', async (t) => {
    const balancer = new LeastConnectionsBalancer(() => 0)
    const [a, b] = config.targets.map((tc) => new Target(tc, config))
    const old = new UpstreamPool('p', config, [a!, b!], new LeastConnectionsBalancer(() => 0))
    // a reload: the new pool's copies share the old ones' state
    const [a2, b2] = reweighted.targets.map((tc, i) => new Target(tc, reweighted, undefined, [a!, b!][i]!.shared))
    const pool = new UpstreamPool('p', reweighted, [a2!, b2!], balancer)
    t.teardown(() => Promise.all([old.close(), pool.close()]))
    t.ok(pool.pick({}), 'the new pool\'s balancer has its scores')
    pool.acquire(b2!)
    // retries of requests the old pool took before the reload
    for (let i = 0; i < 4; i++) old.acquire(a!)
    t.equal(a2!.inFlight, 4)
    t.equal(pool.pick({})!.id, b2!.id, 'b (1 in flight) before a (4 of weight 3)')
    for (let i = 0; i < 4; i++) old.release(a!)
    pool.release(b2!)
  })
})
