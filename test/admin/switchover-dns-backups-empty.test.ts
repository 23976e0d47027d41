// An operator's switchover onto DNS-discovered backups stays undoable while the backups' name answers nothing: the
// hold is kept while the config names backups, and so are switchover and failback (409 no_backup_targets only for a
// pool whose config names none). Before (review r43k), both answered 409 no_backup_targets then, and when the name
// answered again traffic moved to the backups with nobody asking.
import t from 'tap'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { podsOnOnePort } from '../helpers/loopback-pods.ts'

t.test('the switchover is cancelled while the backups\' name is empty; its return moves nothing', async (t) => {
  const port = await podsOnOnePort(t, ['127.0.0.2', '127.0.0.4'], (address) => (req, res) => res.writeHead(200).end(req.url === '/health' ? '' : address))
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set('prim.test', { a: ['127.0.0.2'] })
  dns.set('back.test', { a: ['127.0.0.4'] })
  const gw = await startGateway({
    pools: { p: { targets: [{ dns: 'prim.test', port, refreshMs: 50 }, { dns: 'back.test', port, refreshMs: 50, backup: true }] } },
    routes: [{ path: '/', pool: 'p' }],
  }, { dnsServers: [dns.address], defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const pool = gw.gateway.pools().get('p')!.pool
  await waitFor(() => pool.targets.length === 2)
  const act = async (path: string, body?: unknown): Promise<[number, string | undefined]> => {
    const res = await fetch(`${admin}${path}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    return [res.status, ((await res.json()) as { error?: string }).error]
  }
  const who = async (): Promise<string> => (await fetch(`${gw.url}/x`)).text()
  t.strictSame(await act('/pools/p/switchover', { to: 'backup' }), [200, undefined])
  t.equal(await who(), '127.0.0.4')
  dns.set('back.test', {})
  await waitFor(() => !pool.targets.some((x) => x.backup))
  t.equal(pool.hold, 'operator', 'the switchover still holds')
  t.strictSame(await act('/pools/p/failback'), [200, undefined], 'and can be cancelled')
  t.equal(pool.hold, undefined)
  dns.set('back.test', { a: ['127.0.0.4'] })
  await waitFor(() => pool.targets.some((x) => x.backup))
  t.equal(pool.tier, 'primary', 'the backups\' return moves nothing')
  t.equal(await who(), '127.0.0.2')
})
