// A discovered name reports a change of its lookups only: "DNS lookups of X fail" when they start failing and
// "work again" once after that. A name whose lookups keep working adds nothing to the operator's event feed,
// whatever its refresh rate (src/upstream/registry.ts PoolRuntime: `if (ok && failing) this.emit('discovery', ...)`).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPools } from '../../src/upstream/registry.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { waitFor } from '../helpers/gateway.ts'

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
