// A discovered address that leaves the DNS answer while a request to it is still in flight, and that request then
// fails (the pod resets it): once the request has ended, nothing in the gateway keeps the removed target. The
// failure ends after the pool dropped the target, so whatever counts failures must not start counting it again
// (the DNS chaos suite found the outlier detector doing so, seed 606; by chance there, every time here).
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { waitUntilCollected } from '../helpers/collected.ts'
import { TestDnsServer } from '../helpers/dns-server.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { podsOnOnePort } from '../helpers/loopback-pods.ts'

const NAME = 'orders.default.svc.cluster.local'
const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4']

t.test('a target removed with a request in flight that then fails is garbage once the request ends', async (t) => {
  // pods on one port; 127.0.0.3 holds every request until told to reset it
  const held: IncomingMessage[] = []
  const port = await podsOnOnePort(t, ADDRESSES, (address) => (req, res) => {
    if (address === '127.0.0.3') return void held.push(req)
    res.writeHead(200, { 'x-upstream': address }).end(address)
  })
  const dns = await TestDnsServer.start()
  t.teardown(() => dns.close())
  dns.set(NAME, { a: ['127.0.0.2', '127.0.0.3'] })
  const gw = await startGateway({
    pools: { orders: { targets: [{ dns: NAME, port, refreshMs: 20 }], circuitBreaker: { enabled: false } } },
    routes: [{ path: '/', pool: 'orders' }],
  }, { dnsServers: [dns.address], defaultMetrics: false })
  t.teardown(() => gw.close())
  await waitFor(() => gw.gateway.readiness() === 'ready')
  const pool = gw.gateway.pools().get('orders')!.pool
  const url3 = `http://127.0.0.3:${port}`
  // weakly, so this test holds nothing
  const removed = new WeakRef(pool.targets.find((x) => x.url === url3)!)

  // round-robin: of two requests at once, one is held by 127.0.0.3
  const answers = [fetch(`${gw.url}/a`), fetch(`${gw.url}/b`)].map((p) => p.then(async (r) => ({ status: r.status, body: await r.text() })))
  await waitFor(() => held.length === 1)
  dns.set(NAME, { a: ['127.0.0.2'] })
  await waitFor(() => !pool.targets.some((x) => x.url === url3))
  t.equal(pool.retiring.length, 1, 'the removed target still finishes its request')
  // the pod resets it now, after the removal: a failure of a target the pool no longer has (retried on 127.0.0.2)
  held[0]!.socket.destroy()
  held.length = 0
  t.strictSame((await Promise.all(answers)).map((a) => a.status), [200, 200], 'both answered')
  await waitFor(() => pool.retiring.length === 0)

  // a balancer keeps what it precomputed for its last list of more than one target: give it a new one
  dns.set(NAME, { a: ['127.0.0.2', '127.0.0.4'] })
  await waitFor(() => pool.targets.length === 2 && pool.available().length === 2)
  for (let i = 0; i < 4; i++) await (await fetch(`${gw.url}/c${i}`)).text()

  await waitUntilCollected(() => removed.deref() === undefined ? [] : [removed.deref()!.id], (still) => {
    throw new Error(`the removed target ${still.join(' ')} is still held`)
  })
  t.pass('the removed target was collected')
})
