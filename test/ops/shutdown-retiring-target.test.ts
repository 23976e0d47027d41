// A target a reload removed while a request ran on it (retiring) is closed by the gateway's close() and again
// when that request ends; undici's close() of a client already closed rejects, so the second close was an unhandled
// rejection (the CLI then exited 1 with "second error, exiting"). Closing a target is now idempotent.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'

async function server (delayMs: number): Promise<Server> {
  const s = createServer((_req, res) => { setTimeout(() => res.end('ok'), delayMs).unref() })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  return s
}
const urlOf = (s: Server): string => `http://127.0.0.1:${(s.address() as AddressInfo).port}`

t.test('shutdown cuts a request on a retiring target: no unhandled rejection', async (t) => {
  const rejections: unknown[] = []
  const onRejection = (err: unknown): void => { rejections.push(err) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })
  const fast = await server(0)
  const slow = await server(5000)
  t.teardown(() => {
    for (const s of [fast, slow]) {
      s.closeAllConnections()
      s.close()
    }
  })
  const config = (target: string): GatewayConfig => ({ shutdown: { delayMs: 0, timeoutMs: 300 }, pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })
  let next = config(urlOf(fast))
  const gw = await startGateway(config(urlOf(slow)), { load: async () => validateConfig(next) })
  const cut = fetch(`${gw.url}/slow`).then((res) => res.status, () => 0)
  await waitFor(() => gw.gateway.pools().get('p')!.pool.targets[0]!.inFlight === 1) // on the slow target
  next = config(urlOf(fast))
  t.equal((await gw.gateway.reload('admin')).result, 'success')
  t.equal(gw.gateway.pools().get('p')!.pool.retiring.length, 1, 'the slow target is retiring, its request in flight')
  await gw.gateway.shutdown()
  t.equal(await cut, 0, 'the request past the shutdown deadline was cut')
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.strictSame(rejections.map((err) => (err as { code?: string }).code), [], 'no unhandled rejection')
})
