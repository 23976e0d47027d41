// A chunked upload on a route with maxBodyBytes whose first attempt found its target refusing connections: the
// body, never sent, may go whole to another target after the retry's backoff. Bytes past the limit that arrive
// during that backoff must end the request with 413, never let the next target receive the part under the limit
// as if it were the whole body.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway, refusedUrl } from './setup.ts'

const chunk = (s: string): string => `${s.length.toString(16)}\r\n${s}\r\n`

t.test('a body that crosses maxBodyBytes during a retry backoff is 413, and no target receives part of it', async (t) => {
  const received: number[] = []
  const live = createServer((req, res) => {
    let n = 0
    req.on('data', (d: Buffer) => { n += d.length })
    req.on('end', () => { received.push(n); res.end('ok') })
  })
  await new Promise<void>((resolve) => live.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { live.closeAllConnections(); live.close() })
  const refused = await refusedUrl()
  const gw = await gateway(t, {
    pools: {
      u: {
        targets: [refused, `http://127.0.0.1:${(live.address() as AddressInfo).port}`],
        outlier: { enabled: false },
        retry: { attempts: 2, maxBufferBytes: 1024, backoff: { baseMs: 300, maxMs: 300 } },
      },
    },
    routes: [{ path: '/', pool: 'u', maxBodyBytes: 4096 }],
  }, { defaultMetrics: false, random: () => 0.99 })
  const target = (i: number) => gw.gateway.pools().get('u')!.pool.targets[i]!
  const client = rawConnection(t, Number(new URL(gw.url).port))
  await client.connected
  client.socket.write('POST /up HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk('a'.repeat(1100)))
  // the first attempt has failed at the refusing target: the retry waits out its backoff
  await waitFor(() => target(0).failures === 1)
  client.socket.write(chunk('b'.repeat(7000)) + '0\r\n\r\n')
  await waitFor(() => /^HTTP\/1\.1 \d{3}/.test(client.received()))
  t.match(client.received(), /^HTTP\/1\.1 413 /)
  t.match(client.received(), /"error":"body_too_large"/)
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.same(received, [], 'no target received a body')
})
