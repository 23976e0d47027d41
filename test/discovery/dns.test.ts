// DNS discovery: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import { type AddressState, answerFromError, type DnsLookupError, EMPTY_STATE, type FamilyAnswer, nextState } from '../../src/discovery/answer.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools, type PoolRuntime } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { reloadedPool } from './reloaded-pool.ts'
import { type DiscoveryTimers, DnsDiscovery } from '../../src/discovery/dns.ts'
import { createServer, type Server } from 'node:http'
import { startGateway, type TestGateway, waitFor } from '../helpers/gateway.ts'
import type { TLSSocket } from 'node:tls'
import { CertificateMaker } from '../helpers/certificates.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { checkDnsTargetSpec, type DnsTargetSpec } from '../../src/discovery/spec.ts'
import { diffUrls, targetUrls } from '../../src/discovery/target-urls.ts'

// How one lookup's two answers change the known addresses: table-driven over answers and prior state.
t.test('dns-answer', async (t) => {
  const lookupError = (code: string): DnsLookupError => Object.assign(new Error(code), { code })
  const records = (...addresses: string[]): FamilyAnswer => ({ ok: true, addresses })
  const failed = (code: string): FamilyAnswer => ({ ok: false, error: lookupError(code) })
  const state = (v4: string[], v6: string[], emptyStreak = 0): AddressState => ({ v4, v6, emptyStreak })

  t.test('answerFromError: NXDOMAIN and NODATA are "no records", anything else is a failure', async (t) => {
    const cases: [code: string, ok: boolean][] = [
      ['ENOTFOUND', true],
      ['ENODATA', true],
      ['ETIMEOUT', false],
      ['ECONNREFUSED', false],
      ['ESERVFAIL', false],
      ['EREFUSED', false],
      ['EFORMERR', false],
      ['EBADRESP', false],
      ['ECANCELLED', false],
    ]
    for (const [code, ok] of cases) {
      const answer = answerFromError(lookupError(code))
      t.equal(answer.ok, ok, code)
      if (answer.ok) t.same(answer.addresses, [], `${code}: no addresses`)
      else t.equal(answer.error.code, code, `${code}: error kept`)
    }
    t.equal(answerFromError(new Error('no code')).ok, false, 'an error without a code is a failure')
  })

  t.test('nextState', async (t) => {
    const known = state(['10.0.0.1'], ['fd00::1'])
    const cases: [why: string, before: AddressState, a: FamilyAnswer, aaaa: FamilyAnswer, confirmations: number, after: AddressState][] = [
      ['answers replace the set', known, records('10.0.0.2'), records('fd00::2'), 2, state(['10.0.0.2'], ['fd00::2'])],
      ['first answer from nothing', EMPTY_STATE, records('10.0.0.1'), records(), 2, state(['10.0.0.1'], [])],
      ['both failed: all kept', known, failed('ETIMEOUT'), failed('ESERVFAIL'), 2, known],
      ['A failed: IPv4 kept, IPv6 updated', known, failed('ETIMEOUT'), records('fd00::2'), 2, state(['10.0.0.1'], ['fd00::2'])],
      ['AAAA failed: IPv6 kept, IPv4 updated', known, records('10.0.0.3'), failed('ECONNREFUSED'), 2, state(['10.0.0.3'], ['fd00::1'])],
      ['AAAA failed, A empty: IPv6 kept, so not empty', known, records(), failed('ETIMEOUT'), 2, state([], ['fd00::1'])],
      ['empty, first time: kept, streak 1', known, records(), records(), 2, state(['10.0.0.1'], ['fd00::1'], 1)],
      ['empty, second time: emptied', state(['10.0.0.1'], ['fd00::1'], 1), records(), records(), 2, EMPTY_STATE],
      ['empty, confirmations 1: emptied at once', known, records(), records(), 1, EMPTY_STATE],
      ['empty, confirmations 3, second time: still kept', state(['10.0.0.1'], [], 1), records(), records(), 3, state(['10.0.0.1'], [], 2)],
      ['records after an empty answer: streak reset', state(['10.0.0.1'], [], 1), records('10.0.0.1'), records(), 2, state(['10.0.0.1'], [])],
      ['failure after an empty answer: kept, streak reset', state(['10.0.0.1'], [], 1), failed('ETIMEOUT'), failed('ETIMEOUT'), 2, state(['10.0.0.1'], [])],
      ['A empty, AAAA failed with no IPv6 known: would be empty, so it counts', state(['10.0.0.1'], []), records(), failed('ETIMEOUT'), 2, state(['10.0.0.1'], [], 1)],
      ['empty while empty: nothing to confirm', EMPTY_STATE, records(), records(), 2, EMPTY_STATE],
      ['failures while empty: still empty', EMPTY_STATE, failed('ETIMEOUT'), failed('ETIMEOUT'), 2, EMPTY_STATE],
    ]
    for (const [why, before, a, aaaa, confirmations, after] of cases) t.same(nextState(before, a, aaaa, confirmations), after, why)
  })
})

// A name carried over a reload with no known address has not decided its set: failed lookups never decide it, and
// one NXDOMAIN does not until confirmed. So when a reload drops one of a pool's names while the resolver fails, the
// dropped name's addresses keep serving (as the warm-up after a rename does) instead of the pool being emptied
// because the remaining name, which never answered for good, was taken as decided.
// (src/discovery/dns.ts, the constructor: `decided` from the initial addresses; src/upstream/registry.ts
// #endWarmupOnceDecided.)
t.test('dns-carried-empty-undecided', async (t) => {
  const OLD = 'old.carried.test'
  const KEPT = 'kept.carried.test'
  const config = (names: string[]) => validateConfig({
    pools: { p: { targets: names.map((dns) => ({ dns, port: 9, refreshMs: 60_000 })) } },
    routes: [{ path: '/', pool: 'p' }],
  })

  t.test('a carried name with no address and a failing resolver keeps the dropped name serving', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] }) // KEPT is unknown: one NXDOMAIN, not confirmed
    const options = { dnsServers: [dns.address] }
    const first = buildPools(config([OLD, KEPT]), options).pools.get('p')!
    await first.start()
    t.strictSame(first.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'])

    dns.mode = 'servfail'
    const rt = await reloadedPool(t, first, config([KEPT]), options)
    t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'], 'the pool is not emptied by an undecided name')
  })
})

// An unknown name (NXDOMAIN) has decided its set once emptyConfirmations lookups in a row (default 2) say so, and
// not before: a pool renamed to such a name gives up the old name's addresses exactly then, neither on the first
// NXDOMAIN (a resolver still syncing) nor a lookup later than needed. (src/discovery/dns.ts, #lookup: `decided`.)
t.test('dns-decided-empty-confirmed', async (t) => {
  const NAME = 'unknown.default.svc.cluster.local'

  t.test('two empty answers in a row decide an unknown name; one does not', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
    t.teardown(() => d.stop())
    t.equal(d.decided, false, 'nothing looked up yet')
    await d.refresh()
    t.equal(d.decided, false, 'one NXDOMAIN is not trusted yet')
    await d.refresh()
    t.equal(d.decided, true, 'the second in a row decides: no targets')
    t.same(d.urls, [])
  })
})

// "Failed lookups never decide" a name's set, and the empty answers that do must come in a row: a failed lookup
// between two NXDOMAINs breaks the run, as it resets the count that empties a known set (answer.ts nextState). A
// flapping resolver (NXDOMAIN, SERVFAIL, NXDOMAIN) must not have a renamed pool give up its old addresses for a
// name that never answered twice in a row. (src/discovery/dns.ts, #lookup: a failure resets the empty answers.)
t.test('dns-decided-empty-in-a-row', async (t) => {
  const NAME = 'unknown.default.svc.cluster.local'

  t.test('an empty answer, a failure, an empty answer: not decided; one more empty answer decides', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
    t.teardown(() => d.stop())
    await d.refresh()
    server.mode = 'servfail'
    await d.refresh()
    t.equal(d.lastError?.code, 'ESERVFAIL')
    server.mode = 'answer'
    await d.refresh()
    t.equal(d.decided, false, 'the failure broke the run of empty answers')
    await d.refresh()
    t.equal(d.decided, true, 'two in a row')
  })
})

// A query that gets no answer is tried twice by default (DnsDiscoveryOptions.tries, default 2) before the lookup
// fails: one lost UDP datagram must not fail a lookup and report the name as failing. Pins the default, which the
// gateway's pools use (src/upstream/registry.ts passes no tries).
t.test('dns-default-tries', async (t) => {
  const NAME = 'silent.default.svc.cluster.local'

  t.test('a silent server is asked twice per query before the lookup fails', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.mode = 'hang'
    // a short per-try timeout, so the test does not wait for the default one; tries is left to its default
    const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100 })
    t.teardown(() => d.stop())
    await d.refresh()
    t.equal(d.lastError?.code, 'ETIMEOUT')
    t.equal(server.count(NAME, 'A'), 2, 'A asked twice')
    t.equal(server.count(NAME, 'AAAA'), 2, 'AAAA asked twice')
  })
})

// A lookup in which a query failed is not a working lookup: a pool whose name's lookups fail reports "DNS lookups of
// X fail" and nothing more until one works, never "work again" in the same breath (the operator's event feed would
// say the name recovered while it still fails). (src/discovery/dns.ts, #lookup: the 'lookup' event's ok;
// src/upstream/registry.ts: `if (ok && failing) this.emit('discovery', ...)`.)
t.test('dns-failing-not-recovered', async (t) => {
  const NAME = 'failing.events.test'

  t.test('a failing first lookup reports the failure only', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.mode = 'servfail'
    const config = validateConfig({ pools: { p: { targets: [{ dns: NAME, port: 9, refreshMs: 60_000 }] } }, routes: [{ path: '/', pool: 'p' }] })
    const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    const events: (string | undefined)[] = []
    rt.on('discovery', (_name, error) => events.push(error?.code))
    await rt.start()
    t.strictSame(events, ['ESERVFAIL'], 'failing, and not recovered')
  })
})

// A fixed target and a DNS name give the same address (weights 5 and 1); a reload removes the fixed entry while DNS
// still answers the address, which has served all along. It is no newcomer: it keeps serving at once (it waited,
// unhealthy, for a passing probe: 503 no_available_target meanwhile), and an operator's disable of it stays.
t.test('dns-fixed-removed', async (t) => {
  const NAME = 'svc.fixed-removed.test'

  async function setup (t: Test): Promise<{ gw: TestGateway; id: string; dropFixed: () => Promise<void> }> {
    // its probes answer slowly: a target waiting for one would still be waiting when the test looks
    const up: Server = createServer((req, res) => {
      if (req.url === '/health') setTimeout(() => res.end('ok'), 2000).unref()
      else res.end('hello')
    })
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve))
    t.teardown(() => { up.closeAllConnections(); up.close() })
    const port = (up.address() as { port: number }).port
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(NAME, { a: ['127.0.0.1'] })
    const config = (fixed: boolean) => ({
      pools: {
        p: {
          targets: [...(fixed ? [{ url: `http://127.0.0.1:${port}`, weight: 5 }] : []), { dns: NAME, port, weight: 1, refreshMs: 60_000 }],
          healthCheck: { intervalMs: 60_000, timeoutMs: 5000 },
        },
      },
      routes: [{ path: '/', pool: 'p' }],
    })
    let fixed = true
    const gw = await startGateway(config(true), { defaultMetrics: false, dnsServers: [dns.address], load: async () => validateConfig(config(fixed)) })
    t.teardown(() => gw.close())
    // the name has been looked up: its address is the fixed target's until the reload
    await waitFor(() => gw.gateway.pools().get('p')!.discoveredTargets().length === 1)
    return {
      gw,
      id: `127.0.0.1:${port}`,
      dropFixed: async () => {
        fixed = false
        t.equal((await gw.gateway.reload('admin')).result, 'success', 'reloaded')
      },
    }
  }

  const view = (gw: TestGateway) => gw.gateway.status().pools.p!.targets.map((x) => ({ id: x.id, weight: x.weight, state: x.state }))

  t.test('the address serves on under its DNS settings', async (t) => {
    const { gw, id, dropFixed } = await setup(t)
    t.strictSame(view(gw), [{ id, weight: 5, state: 'healthy' }], 'one target, the fixed one')
    await dropFixed()
    t.strictSame(view(gw), [{ id, weight: 1, state: 'healthy' }], 'the DNS settings, still healthy')
    const res = await fetch(`${gw.url}/x`)
    t.equal(res.status, 200)
    await res.arrayBuffer()
  })

  t.test("an operator's disable stays", async (t) => {
    const { gw, id, dropFixed } = await setup(t)
    const runtime = gw.gateway.pools().get('p')!
    runtime.pool.setStatus(runtime.pool.targets[0]!, { disabled: true })
    await dropFixed()
    t.strictSame(view(gw), [{ id, weight: 1, state: 'disabled' }])
  })
})

// A discovered address that is also a fixed target with another weight (or backup flag) is one target, the one
// written first: before, the two settings made two targets with one id (listed twice, two shares of the balancing,
// one metrics series for both).
t.test('dns-fixed-same-id', async (t) => {
  const NAME = 'svc.same-id.test'
  const config = (requestMs = 30_000) => validateConfig({
    pools: {
      p: {
        targets: [{ url: 'http://127.0.0.9:9', weight: 1 }, { dns: NAME, port: 9, weight: 3, refreshMs: 60_000 }],
        timeouts: { requestMs },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const listed = (rt: PoolRuntime): string[] => rt.pool.targets.map((x) => `${x.id} weight ${x.weight}`).sort()
  const WANT = ['127.0.0.2:9 weight 3', '127.0.0.9:9 weight 1']

  t.test('a fixed target and a discovered address with one id are one target', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(NAME, { a: ['127.0.0.2', '127.0.0.9'] })
    const options = { dnsServers: [dns.address] }
    const before = buildPools(config(30_000), options).pools
    const first = before.get('p')!
    t.teardown(() => first.close())
    await first.start()
    t.strictSame(listed(first), WANT, 'after the lookup')
    // a reload's pool starts with the addresses the one it replaces knew
    const rt = buildPools(config(20_000), options, before).pools.get('p')!
    t.teardown(() => rt.close())
    t.strictSame(listed(rt), WANT, 'a rebuilt pool, before its lookups')
    await rt.start()
    t.strictSame(listed(rt), WANT, 'and after them')
  })
})

// A discovered name written fully qualified, with its root dot ('svc.example.internal.': the schema accepts it and
// discovery reads it as the same name, and operators write it to skip resolver search domains) is sent without the
// dot: as the Host a pool with preserveHost false sends, and as the TLS SNI (RFC 6066 §3: "without a trailing
// dot"). An upstream's virtual hosts (Envoy matches Host without stripping a trailing dot by default) and its
// certificate name the host without it. (src/upstream/target.ts, the constructor: withoutRootDot.)
t.test('dns-fully-qualified-name', async (t) => {
  const certs = new CertificateMaker()
  t.teardown(() => certs.remove())
  const ca = certs.ca('test-ca')
  const leaf = certs.leaf('svc', ca, 'DNS:svc.example.internal')

  t.test('a discovered name with its root dot goes without it in Host and SNI', async (t) => {
    const u = await TestUpstream.start({ name: 'u', tls: leaf })
    t.teardown(() => u.close())
    const sni: Array<string | false | null> = []
    u.server.on('secureConnection', (socket: TLSSocket) => sni.push(socket.servername))
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set('svc.example.internal.', { a: ['127.0.0.1'] })
    const gw = await startGateway({
      pools: { p: { targets: [{ dns: 'svc.example.internal.', port: u.port, protocol: 'https' }], tls: { ca: ca.cert }, preserveHost: false } },
      routes: [{ path: '/', pool: 'p' }],
    }, { dnsServers: [dns.address], defaultMetrics: false, env: {} })
    t.teardown(() => gw.close())
    await waitFor(() => gw.gateway.status().pools.p!.targets.length === 1)

    const res = await fetch(`${gw.url}/x`)
    await res.text()
    t.equal(res.status, 200)
    t.equal(u.requests.at(-1)?.headers.host, `svc.example.internal:${u.port}`, 'Host: the name without its root dot')
    t.ok(sni.length > 0 && sni.every((name) => name === 'svc.example.internal'), `SNI without the root dot (${JSON.stringify(sni)})`)
  })
})

// A discovery started from the addresses of the one it replaces (a pool rebuilt by a reload) has its set, and so has
// decided it, before its own first lookup: what `decided` promises ("the name's set is known") holds from the start,
// as `urls` does. (src/discovery/dns.ts, the constructor: `decided` from the initial addresses.)
t.test('dns-initial-decided', async (t) => {
  t.test('initial addresses: decided before any lookup; no initial addresses: not', async (t) => {
    const spec = { dns: 'payment.default.svc.cluster.local', port: 8080, refreshMs: 5000 }
    const carried = new DnsDiscovery(spec, { servers: ['127.0.0.1:9'], initial: { v4: ['10.0.0.1'], v6: [], emptyStreak: 0 } })
    t.teardown(() => carried.stop())
    t.same(carried.urls, ['http://10.0.0.1:8080'])
    t.equal(carried.decided, true)
    const fresh = new DnsDiscovery(spec, { servers: ['127.0.0.1:9'] })
    t.teardown(() => fresh.stop())
    t.equal(fresh.decided, false)
  })
})

// A name with only AAAA records (an IPv6-only Service) is emptied only once emptyConfirmations lookups in a row find
// no address, as a name with A records is: one spurious NXDOMAIN from a resolver still syncing must not blank an
// IPv6-only pool that is serving. (src/discovery/answer.ts, nextState: a set is "empty" only when both families are.)
t.test('dns-ipv6-only-empty-confirmed', async (t) => {
  const NAME = 'v6only.default.svc.cluster.local'

  t.test('one empty answer keeps an IPv6-only set; the second in a row empties it', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.set(NAME, { aaaa: ['fd00::1'] })
    const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
    t.teardown(() => d.stop())
    const removed: string[][] = []
    d.on('change', (_urls, _added, gone) => { if (gone.length > 0) removed.push([...gone]) })
    await d.refresh()
    t.same(d.urls, ['http://[fd00::1]:8080'])

    server.delete(NAME)
    await d.refresh()
    t.same(d.urls, ['http://[fd00::1]:8080'], 'one NXDOMAIN is not trusted yet')
    t.same(removed, [])
    t.equal(d.lastError, undefined, 'an answer, not a failure')

    await d.refresh()
    t.same(d.urls, [], 'confirmed by the next lookup')
    t.same(removed, [['http://[fd00::1]:8080']])
  })
})

// `lastError` is "the last failed query's error": the one a lookup reported last as a lookupError event. When both
// queries of a lookup fail (A by SERVFAIL, AAAA by timeout), a caller that reads lastError after the lookup sees the
// same error its lookupError listener saw last, not another. (src/discovery/dns.ts, #lookup: `errors.at(-1)`.)
t.test('dns-last-error-last-reported', async (t) => {
  const NAME = 'payment.default.svc.cluster.local'

  t.test('both queries fail: lastError is the error reported last', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.modeFor = { A: 'servfail', AAAA: 'hang' }
    const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1 })
    t.teardown(() => d.stop())
    const reported: DnsLookupError[] = []
    d.on('lookupError', (error) => reported.push(error))
    await d.refresh()
    t.same(reported.map((e) => e.code), ['ESERVFAIL', 'ETIMEOUT'])
    t.equal(d.lastError, reported.at(-1))
    t.equal(d.lastError?.code, 'ETIMEOUT')
  })
})

// A reload that renames a discovered DNS name: each subtest is one behaviour, named as its file was.
t.test('dns-rename', async (t) => {
  // A reload that renames a pool's discovered name gives up the old name's addresses as soon as the new name's first
  // lookup finds addresses: an answer with addresses decides a name's set at once (only an empty answer needs
  // confirming). The old addresses, which the operator renamed away from, must not keep taking traffic for another
  // refresh period. (src/discovery/dns.ts, #lookup: `if (urls.length > 0) this.#decided = true`.)
  t.test('dns-rename-first-answer-decides', async (t) => {
    const OLD = 'old.decides.test'
    const NEW = 'new.decides.test'
    const config = (name: string) => validateConfig({
      pools: { p: { targets: [{ dns: name, port: 9, refreshMs: 60_000 }] } },
      routes: [{ path: '/', pool: 'p' }],
    })

    t.test("the new name's first answer replaces the old addresses when the pool starts", async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set(OLD, { a: ['127.0.0.2'] })
      dns.set(NEW, { a: ['127.0.0.4'] })
      const options = { dnsServers: [dns.address] }
      const first = buildPools(config(OLD), options).pools.get('p')!
      await first.start()
      const rt = await reloadedPool(t, first, config(NEW), options)
      t.strictSame(rt.pool.targets.map((x) => x.id), ['127.0.0.4:9'], 'only the new name serves, one lookup in')
    })
  })

  // A reload that replaces a pool's discovered name by two new names keeps the old name's addresses serving until
  // every new name has answered for good: one name answering while the other's first answer is still unconfirmed
  // (an NXDOMAIN counts only once confirmed) must not drop the old addresses, or the pool shrinks to a fraction of
  // its capacity (Envoy warms a cluster before it replaces the old one)
  // (src/upstream/registry.ts #endWarmupOnceDecided(): `!this.#discoveries.every((d) => d.decided)`).
  t.test('dns-rename-warmup-every-name', async (t) => {
    const OLD = 'old.every.test'
    const config = (names: string[]) => validateConfig({
      pools: { p: { targets: names.map((dns) => ({ dns, port: 9, refreshMs: 60_000 })) } },
      routes: [{ path: '/', pool: 'p' }],
    })

    t.test('the old addresses stay until every new name has decided', async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
      dns.set('one.every.test', { a: ['127.0.0.4'] })
      const options = { dnsServers: [dns.address] }
      const first = buildPools(config([OLD]), options).pools.get('p')!
      await first.start()
      const rt = await reloadedPool(t, first, config(['one.every.test', 'two.every.test']), options)
      t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.4:9'], 'the old addresses still serve beside the answered name')
    })
  })

  // A reload renames a discovered name and adds, as a fixed target, an address the old name answered: while the new
  // name is looked up, that upstream is one target (one id in /status and metrics, one share in the balancer), not a
  // fixed target plus the warming copy of the old name's address
  // (src/upstream/registry.ts PoolRuntime constructor: `(options.warmupTargets ?? []).filter(fresh)`).
  t.test('dns-rename-warmup-fixed-same-id', async (t) => {
    t.test('a warming address that a fixed target names is one target', async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set('old.fixed.test', { a: ['127.0.0.2', '127.0.0.3'] })
      const options = { dnsServers: [dns.address] }
      const first = buildPools(validateConfig({ pools: { p: { targets: [{ dns: 'old.fixed.test', port: 9 }] } }, routes: [{ path: '/', pool: 'p' }] }), options).pools.get('p')!
      await first.start()
      const next = validateConfig({ pools: { p: { targets: ['http://127.0.0.2:9', { dns: 'new.fixed.test', port: 9 }] } }, routes: [{ path: '/', pool: 'p' }] })
      const { pools, retired } = buildPools(next, options, new Map([['p', first]]))
      const rt = pools.get('p')!
      t.teardown(async () => {
        await rt.close()
        for (const r of retired) await r.close()
      })
      t.strictSame(rt.pool.targets.map((x) => x.id).sort(), ['127.0.0.2:9', '127.0.0.3:9'], 'each id once')
      t.equal(rt.pool.targets.length, 2, 'two targets')
    })
  })

  // A reload that renames a pool's discovered name keeps the old name's addresses serving until the new name answers.
  // The new name's first lookup failing (SERVFAIL) used to count as its answer: the old addresses were dropped and the
  // pool was left with no target, where a failed lookup keeps a name's last known set everywhere else. An empty
  // answer (NXDOMAIN) decides only once confirmed, as it would to empty any set.
  t.test('dns-rename-warmup', async (t) => {
    type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

    const OLD = 'old.rename.test'
    const NEW = 'new.rename.test'
    const config = (name: string, refreshMs: number) => validateConfig({
      pools: { p: { targets: [{ dns: name, port: 9, refreshMs }] } },
      routes: [{ path: '/', pool: 'p' }],
    })
    const ids = (rt: PoolRuntime): string[] => rt.pool.targets.map((target) => target.id)

    /** A pool discovering OLD, reloaded to discover NEW (`beforeReload` runs in between); started, its first lookups done. */
    async function renamed (t: Tap, dns: TestDnsServer, refreshMs: number, beforeReload = (): void => {}): Promise<PoolRuntime> {
      const options = { dnsServers: [dns.address] }
      const first = buildPools(config(OLD, 60_000), options).pools.get('p')!
      await first.start()
      t.strictSame(ids(first), ['127.0.0.2:9', '127.0.0.3:9'], 'the old name serves')
      beforeReload()
      return reloadedPool(t, first, config(NEW, refreshMs), options)
    }

    t.test('a failing resolver keeps the old addresses until the new name answers', async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
      dns.set(NEW, { a: ['127.0.0.4'] })
      const rt = await renamed(t, dns, 30, () => { dns.mode = 'servfail' })
      t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9'], 'the first lookup failed: the old addresses still serve')
      t.equal(rt.pool.tier, 'primary')
      dns.mode = 'answer'
      const answered = Date.now()
      while (ids(rt).join() !== '127.0.0.4:9' && Date.now() - answered < 3000) await new Promise((resolve) => setTimeout(resolve, 10))
      t.strictSame(ids(rt), ['127.0.0.4:9'], 'once the new name answers, its addresses replace the old ones')
    })

    t.test('an empty answer for the new name replaces the old addresses once confirmed', async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
      const rt = await renamed(t, dns, 60_000)
      t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9'], 'one NXDOMAIN does not empty a serving pool')
    })

    t.test('an empty answer is confirmed by the next lookup', async (t) => {
      const dns = await TestDnsServer.start()
      t.teardown(() => dns.close())
      dns.set(OLD, { a: ['127.0.0.2', '127.0.0.3'] })
      const rt = await renamed(t, dns, 30)
      const started = Date.now()
      while (ids(rt).length > 0 && Date.now() - started < 3000) await new Promise((resolve) => setTimeout(resolve, 10))
      t.strictSame(ids(rt), [], 'two lookups in a row found no address: the pool is empty, as a zero-pod Service leaves it')
    })
  })
})

// A discovered name is sent as lookups compare it, lower case and without a root dot, whatever its spelling in the
// config. A reload that only respells it ('svc.test' to 'SVC.Test.') keeps the pool (config/hash.ts); the addresses
// found before it sent Host 'svc.test' and one found after it 'SVC.Test': one pool, two spellings, splitting any
// cache or log the upstream keys on the raw Host. The discovery's events name it the same way.
t.test('dns-respelled-name-one-spelling', async (t) => {
  async function listen (server: Server, host: string, port: number): Promise<number> {
    await new Promise<void>((resolve) => server.listen(port, host, resolve))
    t.teardown(() => server.close())
    return (server.address() as { port: number }).port
  }

  t.test('before and after a respelling reload, every address sends the name in one spelling', async (t) => {
    const hosts = new Set<string>()
    const answer = (req: { headers: { host?: string } }, res: { end (s: string): void }): void => { hosts.add(String(req.headers.host)); res.end('ok') }
    const port = await listen(createServer(answer), '127.0.0.1', 0)
    await listen(createServer(answer), '127.0.0.2', port)
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set('svc.test', { a: ['127.0.0.1'] })
    const config = (name: string): GatewayConfig => ({ pools: { p: { targets: [{ dns: name, port, refreshMs: 100 }], preserveHost: false, retry: { attempts: 1 } } }, routes: [{ path: '/', pool: 'p' }] })
    let next = config('Svc.Test')
    const gw = await startGateway(next, { defaultMetrics: false, env: {}, dnsServers: [dns.address], load: async () => validateConfig(next) })
    t.teardown(() => gw.close())
    await waitFor(() => gw.gateway.readiness() === 'ready')
    await (await fetch(`${gw.url}/x`)).arrayBuffer()
    t.strictSame([...hosts], [`svc.test:${port}`], 'lower case from the start')

    const runtime = gw.gateway.pools().get('p')
    next = config('SVC.Test.')
    t.equal((await gw.gateway.reload('admin')).result, 'success')
    t.equal(gw.gateway.pools().get('p'), runtime, 'the pool is kept')
    dns.set('svc.test', { a: ['127.0.0.1', '127.0.0.2'] })
    await waitFor(() => gw.gateway.status().pools.p!.targets.length === 2)
    hosts.clear()
    for (let i = 0; i < 6; i++) await (await fetch(`${gw.url}/x`)).arrayBuffer()
    t.strictSame([...hosts], [`svc.test:${port}`], 'the address found after the reload too')

    dns.mode = 'servfail'
    await waitFor(() => gw.gateway.events.list().some((e) => /DNS lookups/.test(e.message)), 5000)
    const failing = gw.gateway.events.list().find((e) => /DNS lookups/.test(e.message))!
    t.match(failing.message, /svc\.test/, 'the event names it as lookups do')
    t.notMatch(failing.message, /Svc\.Test|SVC/)
  })
})

// A reload right after another retires a pool whose first DNS lookups are still running: when they end, nothing may
// start on the retired pool; its health checks never probe the upstreams it no longer serves
// (src/upstream/registry.ts start(): `if (this.#retired) return Promise.resolve()`).
t.test('dns-retired-while-starting', async (t) => {
  const NAME = 'retired.start.test'

  t.test('a pool retired during its first lookups starts no health checks', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(NAME, { a: ['127.0.0.2'] })
    const config = validateConfig({
      pools: { p: { targets: ['http://127.0.0.1:9', { dns: NAME, port: 9 }], healthCheck: { path: '/health' } } },
      routes: [{ path: '/', pool: 'p' }],
    })
    const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    rt.budget.tryStartRequest() // a request admitted before the reload keeps the targets open
    const starting = rt.start()
    rt.retire()
    await starting
    t.ok(rt.pool.targets.length >= 1, 'the targets stay for the request in flight')
    t.strictSame(rt.pool.targets.map((x) => rt.health!.lastResult(x)), rt.pool.targets.map(() => undefined), 'no target was probed')
    rt.budget.requestFinished()
  })
})

// The refresh schedule, driven by injected timers so nothing waits for refreshMs: a lookup at start, the
// next one refreshMs after it ends, never two at once, nothing after stop().
t.test('dns-schedule', async (t) => {
  const NAME = 'orders.default.svc.cluster.local'

  /** Timers that fire only when the test says so. */
  class ManualTimers implements DiscoveryTimers {
    readonly pending = new Map<number, { callback: () => void; ms: number }>()
    #nextId = 1

    set (callback: () => void, ms: number): number {
      const id = this.#nextId++
      this.pending.set(id, { callback, ms })
      return id
    }

    clear (handle: unknown): void { this.pending.delete(handle as number) }

    delays (): number[] { return [...this.pending.values()].map((p) => p.ms) }

    /** Fires the one pending timer. */
    fire (): void {
      if (this.pending.size !== 1) throw new Error(`expected one pending timer, found ${this.pending.size}`)
      const [[id, { callback }]] = this.pending
      this.pending.delete(id)
      callback()
    }
  }

  async function setup (t: Test) {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.set(NAME, { a: ['10.1.0.1'] })
    const timers = new ManualTimers()
    const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 100, tries: 1, timers })
    t.teardown(() => d.stop())
    const lookups = (): number => server.count(NAME, 'A')
    return { server, timers, d, lookups }
  }

  t.test('start looks up at once, then refreshMs after each lookup ends', async (t) => {
    const { server, timers, d, lookups } = await setup(t)
    t.same(timers.delays(), [], 'nothing scheduled before start')
    await d.start()
    t.equal(lookups(), 1)
    t.same(d.urls, ['http://10.1.0.1:9000'])
    t.same(timers.delays(), [5000])

    server.set(NAME, { a: ['10.1.0.2'] })
    timers.fire()
    await d.refresh() // joins the lookup the timer started
    t.equal(lookups(), 2, 'the timer started a lookup; refresh joined it')
    t.same(d.urls, ['http://10.1.0.2:9000'])
    t.same(timers.delays(), [5000], 'the next one is scheduled')

    await d.start()
    t.equal(lookups(), 2, 'a second start neither looks up nor schedules again')
    t.same(timers.delays(), [5000])
  })

  t.test('a slow lookup is never overlapped: refresh joins it and the next is scheduled only once it ends', async (t) => {
    const { server, timers, d, lookups } = await setup(t)
    server.mode = 'hang'
    const started = d.start()
    const joined = d.refresh()
    t.equal(joined, d.refresh(), 'the same lookup')
    t.same(timers.delays(), [], 'no timer while the lookup runs')
    await Promise.all([started, joined])
    t.equal(lookups(), 1, 'one query, however often refresh was called')
    t.equal(d.lastError?.code, 'ETIMEOUT')
    t.same(timers.delays(), [5000])
  })

  t.test('a failed lookup keeps the schedule going', async (t) => {
    const { server, timers, d, lookups } = await setup(t)
    server.mode = 'servfail'
    await d.start()
    t.equal(d.lastError?.code, 'ESERVFAIL')
    t.same(timers.delays(), [5000])
    server.mode = 'answer'
    timers.fire()
    await d.refresh()
    t.equal(lookups(), 2)
    t.same(d.urls, ['http://10.1.0.1:9000'])
  })

  t.test('stop clears the timer: no lookups and no events after it', async (t) => {
    const { server, timers, d, lookups } = await setup(t)
    await d.start()
    const events: string[] = []
    d.on('change', () => events.push('change'))
    d.on('lookupError', () => events.push('lookupError'))
    d.stop()
    t.same(timers.delays(), [], 'pending refresh cleared')
    server.set(NAME, { a: ['10.1.0.9'] })
    await d.refresh()
    await d.start()
    t.equal(lookups(), 1, 'no lookup after stop')
    t.same(timers.delays(), [])
    t.same(d.urls, ['http://10.1.0.1:9000'], 'the last set stays readable')
    t.same(events, [])
  })

  t.test('stop during a lookup: its answer is dropped and nothing is scheduled', async (t) => {
    const { server, timers, d } = await setup(t)
    server.mode = 'hang'
    const events: string[] = []
    d.on('change', () => events.push('change'))
    d.on('lookupError', () => events.push('lookupError'))
    const started = d.start()
    d.stop()
    await started
    t.same(events, [], 'the cancelled queries are not reported')
    t.same(d.urls, [])
    t.same(timers.delays(), [])
  })
})

// Two discovered names answering the same address (an address moving between headless Services, or two Services
// selecting the same pods) are one target: listed once, one share of the balancing, and a retry that failed on it
// knows it was tried.
t.test('dns-shared-address', async (t) => {
  const A = 'a.shared.test'
  const B = 'b.shared.test'
  const config = (requestMs = 30_000) => validateConfig({
    pools: {
      p: {
        targets: [{ dns: A, port: 9, refreshMs: 60_000 }, { dns: B, port: 9, refreshMs: 60_000 }, { url: 'http://127.0.0.9:9', backup: true }],
        timeouts: { requestMs },
      },
    },
    routes: [{ path: '/', pool: 'p' }],
  })
  const ids = (rt: PoolRuntime): string[] => rt.pool.targets.map((x) => x.id).sort()

  async function sharedDns (t: { teardown: (fn: () => Promise<void>) => void }): Promise<TestDnsServer> {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(A, { a: ['127.0.0.2', '127.0.0.3'] })
    dns.set(B, { a: ['127.0.0.3'] })
    return dns
  }

  t.test('an address two names answer is one target', async (t) => {
    const dns = await sharedDns(t)
    const rt = buildPools(config(), { dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    await rt.start()
    t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'])
    const [p2, p3] = rt.pool.available()
    t.equal(rt.pool.available().length, 2, 'two primaries available, once each')
    t.equal(rt.pool.pick({}, [p2!, p3!])?.id, '127.0.0.9:9', 'a request that failed on both primaries retries on the standby')
  })

  t.test('a pool rebuilt by a reload starts with each carried address once', async (t) => {
    const dns = await sharedDns(t)
    const options = { dnsServers: [dns.address] }
    const before = buildPools(config(30_000), options).pools
    const first = before.get('p')!
    t.teardown(() => first.close())
    await first.start()
    const { pools } = buildPools(config(20_000), options, before)
    const rt = pools.get('p')!
    t.teardown(() => rt.close())
    t.not(rt, first, 'rebuilt')
    t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'], 'before its first lookups')
    await rt.start()
    t.strictSame(ids(rt), ['127.0.0.2:9', '127.0.0.3:9', '127.0.0.9:9'], 'after them')
  })
})

// checkDnsTargetSpec takes every TCP port, 1 to 65535 both included: a Service on port 65535 (or 1) is as valid as
// the config schema says it is, and discovery must not refuse to start for it.
// (src/discovery/spec.ts, checkDnsTargetSpec.)
t.test('dns-spec-port-bounds', async (t) => {
  t.test('ports 1 and 65535 are accepted; 0 and 65536 are not', async (t) => {
    const spec = { dns: 'payment.default.svc.cluster.local', refreshMs: 5000 }
    t.doesNotThrow(() => checkDnsTargetSpec({ ...spec, port: 1 }), 'port 1')
    t.doesNotThrow(() => checkDnsTargetSpec({ ...spec, port: 65535 }), 'port 65535')
    for (const port of [0, 65536]) t.throws(() => checkDnsTargetSpec({ ...spec, port }), { code: 'invalid_config' }, `port ${port}`)
  })
})

// At start-up a DNS name's first addresses are the pool's targets, as fixed ones are: they start healthy and need
// unhealthyThreshold failed checks to go out. Only an address that joins once checks run waits for a passing check
// (src/upstream/registry.ts #setTargets(): `const checked = this.health !== undefined && this.#started`).
t.test('dns-start-addresses-not-joining', async (t) => {
  t.test("a name's first addresses are not joiners: one failed check does not take them out", async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set('first.start.test', { a: ['127.0.0.2'] })
    const config = validateConfig({
      pools: { p: { targets: [{ dns: 'first.start.test', port: 9 }], healthCheck: { path: '/health', unhealthyThreshold: 3, intervalMs: 60_000 } } },
      routes: [{ path: '/', pool: 'p' }],
    })
    const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    await rt.start()
    const [target] = rt.pool.targets
    t.equal(rt.health!.lastResult(target!)?.ok, false, 'the first check failed (nothing listens)')
    t.equal(rt.pool.state(target!), 'healthy', 'one failure of three: still in')
  })
})

// start() "resolves when the first lookup is applied": a second start() while that lookup runs (two callers starting
// the same discovery) resolves only once it is applied too, so neither caller reads an empty set that is about to
// be filled. (src/discovery/dns.ts, start: a started discovery returns the lookup in flight.)
t.test('dns-start-joined', async (t) => {
  const NAME = 'orders.default.svc.cluster.local'

  t.test('a second start during the first lookup resolves once that lookup is applied', async (t) => {
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.set(NAME, { a: ['10.1.0.1'] })
    const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 60_000 }, { servers: [server.address], timeoutMs: 1000, tries: 1 })
    t.teardown(() => d.stop())
    const first = d.start()
    await d.start()
    t.same(d.urls, ['http://10.1.0.1:9000'], 'the first lookup is applied')
    await first
    t.equal(server.count(NAME, 'A'), 1, 'one lookup')
  })
})

// stop() cancels a lookup in flight: a discovery stopped (its pool retired by a reload, the gateway shutting down)
// while the name server is silent does not wait out the resolver's timeout and retries, and start()'s promise
// settles at once. (src/discovery/dns.ts, stop: resolver.cancel().)
t.test('dns-stop-cancels-lookup', async (t) => {
  const NAME = 'orders.default.svc.cluster.local'

  t.test('stop during a lookup to a silent server settles start() without waiting for the timeout', async (t) => {
    // the lookup would wait 120 s for its answer: only a cancelled one lets start() settle within the test's time
    t.setTimeout(10_000)
    const server = await TestDnsServer.start()
    t.teardown(() => server.close())
    server.mode = 'hang'
    const d = new DnsDiscovery({ dns: NAME, port: 9000, refreshMs: 5000 }, { servers: [server.address], timeoutMs: 60_000, tries: 2 })
    const started = d.start()
    await new Promise<void>((resolve) => { const poll = (): void => { if (server.count(NAME, 'A') > 0) resolve(); else setImmediate(poll) }; poll() })
    d.stop()
    await started
    t.same(d.urls, [])
    t.equal(d.lastError, undefined, 'the cancelled queries are not reported')
  })
})

// Addresses to target URLs (origin form, IPv6 bracketed, sorted, deduplicated), set diffs, and spec checks.
t.test('dns-target-urls', async (t) => {
  t.test('targetUrls', async (t) => {
    const cases: [why: string, addresses: string[], spec: Pick<DnsTargetSpec, 'port' | 'protocol'>, urls: string[]][] = [
      ['IPv4, http by default', ['10.0.0.1'], { port: 8080 }, ['http://10.0.0.1:8080']],
      ['IPv6 in brackets', ['fd00::1'], { port: 8080 }, ['http://[fd00::1]:8080']],
      ['IPv6 in its canonical form', ['FD00:0:0:0:0:0:0:1'], { port: 8080 }, ['http://[fd00::1]:8080']],
      ['https', ['10.0.0.1'], { port: 8443, protocol: 'https' }, ['https://10.0.0.1:8443']],
      ['default port left out, as an origin does', ['10.0.0.1', 'fd00::1'], { port: 80, protocol: 'http' }, ['http://10.0.0.1', 'http://[fd00::1]']],
      ['sorted and deduplicated', ['10.0.0.2', 'fd00::1', '10.0.0.1', '10.0.0.2'], { port: 1 }, ['http://10.0.0.1:1', 'http://10.0.0.2:1', 'http://[fd00::1]:1']],
      ['nothing', [], { port: 8080 }, []],
    ]
    for (const [why, addresses, spec, urls] of cases) t.same(targetUrls(addresses, spec), urls, why)
  })

  t.test('diffUrls', async (t) => {
    const cases: [previous: string[], next: string[], added: string[], removed: string[]][] = [
      [[], ['a', 'b'], ['a', 'b'], []],
      [['a', 'b'], ['a', 'b'], [], []],
      [['a', 'b'], ['b', 'c'], ['c'], ['a']],
      [['a', 'b'], [], [], ['a', 'b']],
    ]
    for (const [previous, next, added, removed] of cases) t.same(diffUrls(previous, next), { added, removed }, `${previous} → ${next}`)
  })

  t.test('checkDnsTargetSpec refuses what discovery cannot run with, naming each field', async (t) => {
    const good: DnsTargetSpec = { dns: 'payment.default.svc.cluster.local', port: 8080, refreshMs: 5000 }
    t.doesNotThrow(() => checkDnsTargetSpec(good))
    t.doesNotThrow(() => checkDnsTargetSpec({ ...good, protocol: 'https' }))
    const bad: [spec: DnsTargetSpec, fields: string[]][] = [
      [{ ...good, dns: ' ' }, ['dns']],
      [{ ...good, port: 0 }, ['port']],
      [{ ...good, port: 65536 }, ['port']],
      [{ ...good, port: 80.5 }, ['port']],
      [{ ...good, refreshMs: 0 }, ['refreshMs']],
      [{ ...good, refreshMs: Infinity }, ['refreshMs']],
      [{ ...good, protocol: 'ftp' as 'http' }, ['protocol']],
      [{ dns: '', port: -1, refreshMs: -1 }, ['dns', 'port', 'refreshMs']],
    ]
    for (const [spec, fields] of bad) {
      try {
        checkDnsTargetSpec(spec)
        t.fail(`accepted ${JSON.stringify(spec)}`)
      } catch (err) {
        const e = err as { code?: string; problems?: string[] }
        t.equal(e.code, 'invalid_config')
        t.same(e.problems?.map((p) => p.split(':')[0]), fields, fields.join(', '))
      }
    }
  })
})

// A discovered name reports a change of its lookups only: "DNS lookups of X fail" when they start failing and
// "work again" once after that. A name whose lookups keep working adds nothing to the operator's event feed,
// whatever its refresh rate (src/upstream/registry.ts PoolRuntime: `if (ok && failing) this.emit('discovery', ...)`).
t.test('dns-working-name-no-events', async (t) => {
  const NAME = 'steady.events.test'

  t.test('lookups that keep working report nothing; recovering from failure reports once', async (t) => {
    const dns = await TestDnsServer.start()
    t.teardown(() => dns.close())
    dns.set(NAME, { a: ['127.0.0.2'] })
    const config = validateConfig({ pools: { p: { targets: [{ dns: NAME, port: 9, refreshMs: 20 }] } }, routes: [{ path: '/', pool: 'p' }] })
    const rt = buildPools(config, { dnsServers: [dns.address] }).pools.get('p')!
    t.teardown(() => rt.close())
    const events: (string | undefined)[] = []
    rt.on('discovery', (_name, error) => events.push(error?.code))
    await rt.start()
    const after = dns.count(NAME, 'A') + 3
    await waitFor(() => dns.count(NAME, 'A') >= after)
    t.strictSame(events, [], 'working lookups: no event')
    dns.mode = 'servfail'
    await waitFor(() => events.length >= 1)
    dns.mode = 'answer'
    await waitFor(() => events.length >= 2)
    const settled = dns.count(NAME, 'A') + 3
    await waitFor(() => dns.count(NAME, 'A') >= settled)
    t.equal(events.length, 2, 'one failing event, one recovered event')
    t.not(events[0], undefined)
    t.equal(events[1], undefined)
  })
})

// DnsDiscovery's `decided` option (a reload carries whether the replaced discovery had decided its set) is taken as
// given, whatever the initial addresses; without it, a set with addresses is decided and an empty one is not, as the
// option's documentation says. An empty initial set taken as decided would let a rebuilt pool give up warm-up
// targets before the name ever answered; an undecided one taken as decided, the same.
t.test('the decided option wins over the initial set; without it, addresses decide', async (t) => {
  const spec = { dns: 'payment.default.svc.cluster.local', port: 8080, refreshMs: 5000 }
  const some = { v4: ['10.0.0.1'], v6: [], emptyStreak: 0 }
  const none = { v4: [], v6: [], emptyStreak: 0 }
  const cases: [why: string, options: { initial: typeof some; decided?: boolean }, decided: boolean][] = [
    ['addresses, no option', { initial: some }, true],
    ['no address, no option', { initial: none }, false],
    ['addresses, not decided', { initial: some, decided: false }, false],
    ['no address, decided (confirmed empty)', { initial: none, decided: true }, true],
  ]
  for (const [why, options, decided] of cases) {
    const d = new DnsDiscovery(spec, { servers: ['127.0.0.1:9'], ...options })
    t.teardown(() => d.stop())
    t.equal(d.decided, decided, why)
  }
})
