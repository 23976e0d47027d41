// A pool a reload removed while a WebSocket tunnel to it outlived the retired pool's deadline (2 × requestMs + 1 s)
// is forgotten when that tunnel closes. It stayed in the gateway's list of removed pools, with its targets, breaker
// and clients, until something read /status: a gateway nobody asked kept every such pool (review r36d).
import { connect } from 'node:net'
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { waitUntilCollected } from '../helpers/collected.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a removed pool whose tunnel outlived its retirement is freed when the tunnel closes', async (t) => {
  const ua = await TestUpstream.start({ name: 'a' })
  const ub = await TestUpstream.start({ name: 'b' })
  t.teardown(() => Promise.all([ua.close(), ub.close()]))
  const without = { pools: { a: { targets: [ua.url] } }, routes: [{ path: '/a', pool: 'a' }] }
  const gw = await startGateway({
    pools: { a: { targets: [ua.url] }, b: { targets: [ub.url], timeouts: { requestMs: 300 } } },
    routes: [{ path: '/a', pool: 'a' }, { path: '/b', pool: 'b' }],
  }, { load: async () => validateConfig(without) })
  t.teardown(() => gw.close())

  const client = connect(Number(new URL(gw.url).port), '127.0.0.1')
  client.on('error', () => {})
  client.write('GET /b/ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
  const head = await new Promise<Buffer>((resolve) => client.once('data', resolve))
  t.match(head.toString('latin1'), /^HTTP\/1\.1 101 /)
  const removed = ((): WeakRef<object> => new WeakRef(gw.gateway.pools().get('b')!))()
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  await sleep(1800) // past the retired pool's deadline (2 × 300 + 1000 ms), the tunnel still open
  client.destroy()
  // nothing reads /status meanwhile
  await waitUntilCollected(() => (removed.deref() === undefined ? [] : ['pool b']), (held) => {
    throw new Error(`still held: ${held.join(' ')}`)
  }, 3000)
  t.pass('collected')
})
