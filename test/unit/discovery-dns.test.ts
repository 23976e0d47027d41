// DNS discovery against a real DNS server on loopback: the answer becomes sorted target URLs, changes are
// reported as added/removed, failures keep the known set, and an empty answer empties it only when confirmed.
import t, { type Test } from 'tap'
import { DnsDiscovery, type DnsDiscoveryOptions } from '../../src/discovery/dns.ts'
import type { DnsTargetSpec } from '../../src/discovery/spec.ts'
import { type DnsRecords, TestDnsServer } from '../helpers/dns-server.ts'

const NAME = 'payment.default.svc.cluster.local'

interface Change { urls: string[]; added: string[]; removed: string[] }

async function discovery (t: Test, records: DnsRecords | undefined, spec: Partial<DnsTargetSpec> = {}, options: DnsDiscoveryOptions = {}) {
  const server = await TestDnsServer.start()
  t.teardown(() => server.close())
  if (records !== undefined) server.set(NAME, records)
  // one short try, so a dead or silent server fails fast
  const d = new DnsDiscovery({ dns: NAME, port: 8080, refreshMs: 5000, ...spec }, { servers: [server.address], timeoutMs: 100, tries: 1, ...options })
  t.teardown(() => d.stop())
  const changes: Change[] = []
  const errors: { code: string | undefined; syscall: string | undefined }[] = []
  d.on('change', (urls, added, removed) => changes.push({ urls: [...urls], added: [...added], removed: [...removed] }))
  d.on('lookupError', (error) => errors.push({ code: error.code, syscall: error.syscall }))
  return { server, d, changes, errors }
}

const KNOWN = { a: ['10.0.0.2', '10.0.0.1'], aaaa: ['fd00::1'] }
const KNOWN_URLS = ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://[fd00::1]:8080']

t.test('the first lookup gives every A and AAAA record as sorted origin URLs, IPv6 in brackets', async (t) => {
  const { server, d, changes, errors } = await discovery(t, KNOWN)
  t.same(d.urls, [])
  await d.refresh()
  t.same(d.urls, KNOWN_URLS)
  t.same(changes, [{ urls: KNOWN_URLS, added: KNOWN_URLS, removed: [] }])
  t.same(errors, [])
  t.equal(d.lastError, undefined)
  t.equal(server.count(NAME, 'A'), 1)
  t.equal(server.count(NAME, 'AAAA'), 1)
})

t.test('https targets: the protocol is kept and a default port leaves the origin bare', async (t) => {
  const { d } = await discovery(t, { a: ['10.0.0.1'], aaaa: ['fd00::1'] }, { protocol: 'https', port: 443 })
  await d.refresh()
  t.same(d.urls, ['https://10.0.0.1', 'https://[fd00::1]'])
})

t.test('a new record joins: change reports it as added', async (t) => {
  const { server, d, changes } = await discovery(t, KNOWN)
  await d.refresh()
  server.set(NAME, { a: [...KNOWN.a, '10.0.0.3'], aaaa: [...KNOWN.aaaa, 'fd00::2'] })
  await d.refresh()
  t.same(changes[1], {
    urls: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080', 'http://[fd00::1]:8080', 'http://[fd00::2]:8080'],
    added: ['http://10.0.0.3:8080', 'http://[fd00::2]:8080'],
    removed: [],
  })
})

t.test('a vanished record: change reports it as removed', async (t) => {
  const { server, d, changes } = await discovery(t, KNOWN)
  await d.refresh()
  server.set(NAME, { a: ['10.0.0.2'] })
  await d.refresh()
  t.same(changes[1], { urls: ['http://10.0.0.2:8080'], added: [], removed: ['http://10.0.0.1:8080', 'http://[fd00::1]:8080'] })
  t.same(d.urls, ['http://10.0.0.2:8080'])
})

t.test('the same answer (in another order) is no change', async (t) => {
  const { server, d, changes } = await discovery(t, KNOWN)
  await d.refresh()
  server.set(NAME, { a: ['10.0.0.1', '10.0.0.2', '10.0.0.1'], aaaa: ['fd00:0::1'] })
  await d.refresh()
  await d.refresh()
  t.equal(server.count(NAME, 'A'), 3, 'every refresh asked the server')
  t.equal(changes.length, 1, 'only the first lookup changed the set')
  t.same(d.urls, KNOWN_URLS)
})

const failureCases: { mode: string; code: string; fail: (s: TestDnsServer) => void | Promise<void>; heal: (s: TestDnsServer) => void | Promise<void> }[] = [
  { mode: 'SERVFAIL', code: 'ESERVFAIL', fail: (s) => { s.mode = 'servfail' }, heal: (s) => { s.mode = 'answer' } },
  { mode: 'no answer', code: 'ETIMEOUT', fail: (s) => { s.mode = 'hang' }, heal: (s) => { s.mode = 'answer' } },
  { mode: 'server down', code: 'ECONNREFUSED', fail: (s) => s.stop(), heal: (s) => s.restore() },
]
for (const { mode, code, fail, heal } of failureCases) {
  t.test(`${mode}: the set is kept and ${code} reported for both queries; the next good answer applies`, async (t) => {
    const { server, d, changes, errors } = await discovery(t, KNOWN)
    await d.refresh()
    await fail(server)
    server.set(NAME, { a: ['10.0.0.9'] })
    await d.refresh()
    t.same(d.urls, KNOWN_URLS, 'last known set kept')
    t.equal(changes.length, 1, 'no change reported')
    t.same(errors.sort((x, y) => String(x.syscall).localeCompare(String(y.syscall))), [{ code, syscall: 'queryA' }, { code, syscall: 'queryAaaa' }])
    t.equal(d.lastError?.code, code)

    await heal(server)
    await d.refresh()
    t.same(d.urls, ['http://10.0.0.9:8080'], 'recovered')
    t.same(changes[1], { urls: ['http://10.0.0.9:8080'], added: ['http://10.0.0.9:8080'], removed: KNOWN_URLS })
    t.equal(d.lastError, undefined, 'cleared by a good lookup')
    t.equal(errors.length, 2)
  })
}

t.test('one family failing keeps that family only: the other is updated', async (t) => {
  const { server, d, changes, errors } = await discovery(t, KNOWN)
  await d.refresh()
  server.modeFor = { AAAA: 'servfail' }
  server.set(NAME, { a: ['10.0.0.3'], aaaa: [] })
  await d.refresh()
  t.same(d.urls, ['http://10.0.0.3:8080', 'http://[fd00::1]:8080'])
  t.same(changes[1], { urls: ['http://10.0.0.3:8080', 'http://[fd00::1]:8080'], added: ['http://10.0.0.3:8080'], removed: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080'] })
  t.same(errors, [{ code: 'ESERVFAIL', syscall: 'queryAaaa' }])
})

t.test('NXDOMAIN or no records: an unknown name is no targets and no error', async (t) => {
  const { d, changes, errors } = await discovery(t, undefined)
  await d.refresh()
  t.same(d.urls, [])
  t.same(changes, [])
  t.same(errors, [], 'an answer, not a failure')
})

const emptyAnswers: { answer: string; empty: (s: TestDnsServer) => void }[] = [
  { answer: 'NXDOMAIN', empty: (s) => s.delete(NAME) },
  { answer: 'NOERROR without records', empty: (s) => s.set(NAME, {}) },
]
for (const { answer, empty } of emptyAnswers) {
  t.test(`${answer}: a known set is emptied only on the second such answer in a row (default)`, async (t) => {
    const { server, d, changes, errors } = await discovery(t, KNOWN)
    await d.refresh()
    empty(server)
    await d.refresh()
    t.same(d.urls, KNOWN_URLS, 'one empty answer is not trusted yet')
    t.equal(changes.length, 1)
    await d.refresh()
    t.same(d.urls, [])
    t.same(changes[1], { urls: [], added: [], removed: KNOWN_URLS })
    t.same(errors, [])
  })
}

t.test('an empty answer between good ones does not count towards emptying', async (t) => {
  const { server, d, changes } = await discovery(t, KNOWN)
  await d.refresh()
  server.delete(NAME)
  await d.refresh()
  server.set(NAME, KNOWN)
  await d.refresh()
  server.delete(NAME)
  await d.refresh()
  t.same(d.urls, KNOWN_URLS)
  t.equal(changes.length, 1)
})

t.test('emptyConfirmations 1: an empty answer empties the set at once', async (t) => {
  const { server, d, changes } = await discovery(t, KNOWN, {}, { emptyConfirmations: 1 })
  await d.refresh()
  server.delete(NAME)
  await d.refresh()
  t.same(d.urls, [])
  t.same(changes[1], { urls: [], added: [], removed: KNOWN_URLS })
})

t.test('a discovery started from the state of the one it replaces has its set before any lookup, and keeps it through failures', async (t) => {
  const { server, d: first } = await discovery(t, KNOWN)
  await first.refresh()
  const { d, changes } = await discovery(t, undefined, {}, { servers: [server.address], initial: first.state })
  t.same(d.urls, KNOWN_URLS, 'known at once, not after the first lookup')
  server.mode = 'servfail'
  await d.refresh()
  t.same(d.urls, KNOWN_URLS, 'a failed lookup keeps it')
  t.same(changes, [], 'and nothing changed')
  server.mode = 'answer'
  server.set(NAME, { a: ['10.0.0.1'] })
  await d.refresh()
  t.same(d.urls, ['http://10.0.0.1:8080'], 'its own answers take over')
})
