// Addresses to target URLs (origin form, IPv6 bracketed, sorted, deduplicated), set diffs, and spec checks.
import t from 'tap'
import { checkDnsTargetSpec, type DnsTargetSpec } from '../../src/discovery/spec.ts'
import { diffUrls, targetUrls } from '../../src/discovery/target-urls.ts'

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
