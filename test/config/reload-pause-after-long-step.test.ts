// A request that waited through a long reload step (a large config's validation: tens of ms) is read and forwarded
// in the loop's next poll phase, and its upstream's answer is relayed in a later one. With only one poll phase
// between two steps the answer waited through the next step too (5,000 routes: a request caught by a reload waited
// through 2-4 steps, review r39b). After a step that kept the loop busy 10 ms or more, the reload now lets it run
// 20 ms before the next: an exchange begun in the long step is answered before the compare begins.
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFile } from 'node:fs'
import t from 'tap'
import { Reloader } from '../../src/config/reloader.ts'
import type { ResolvedConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'

const config = (targets: number): ResolvedConfig => validateConfig({
  pools: { p: { targets: Array.from({ length: targets }, (_, i) => `http://10.0.0.${i + 1}:3000`) } },
  routes: [{ path: '/', pool: 'p' }],
})

function block (ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) { /* a long validation */ }
}

t.test('an exchange begun during a long load is answered before the compare', async (t) => {
  const server: Server = createServer((_req, res) => { res.end('ok') })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const port = (server.address() as AddressInfo).port
  let running = config(1)
  const order: string[] = []
  const reloader = new Reloader({
    load: () => new Promise((resolve) => {
      // in the poll phase, as loadConfigFile's file read ends
      readFile(import.meta.filename, () => {
        block(15)
        // the request a client sent meanwhile, forwarded: its answer comes back through the loop
        request({ port, host: '127.0.0.1', agent: false }, (res) => { res.resume(); res.on('end', () => order.push('answered')) }).end()
        resolve(config(2))
      })
    }),
    apply: (next) => { order.push('apply'); running = next },
    current: () => { order.push('compare'); return running },
  })
  t.match(await reloader.reload('admin'), { result: 'success' })
  t.equal(order[0], 'answered', `the exchange ended before the compare began (${order.join(', ')})`)
})
