// Tiny demo backends: each answers with its own name, and /health. A replica can report replication lag;
// any service can be broken (500 to everything) and mended at runtime with POST /__break and /__mend.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface DemoService { name: string; url: string; server: Server }

export async function startService (name: string, options: { lagMs?: number } = {}): Promise<DemoService> {
  let broken = false
  const server = createServer((req, res) => {
    req.resume()
    req.once('end', () => {
      if (req.url === '/health') {
        const headers: Record<string, string> = { 'content-type': 'text/plain' }
        if (options.lagMs !== undefined) headers['x-replication-lag-ms'] = String(options.lagMs)
        res.writeHead(200, headers).end('ok\n')
        return
      }
      if (req.method === 'POST' && (req.url === '/__break' || req.url === '/__mend')) {
        broken = req.url === '/__break'
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`${name} ${broken ? 'broken' : 'mended'}\n`)
        return
      }
      // the release a payment instance runs (alice's canary stickiness is by version, not instance)
      const version = name.startsWith('payment') ? (name.includes('-v2') ? 'v2' : 'v1') : undefined
      const body = JSON.stringify({ instance: name, version, method: req.method, path: req.url, requestId: req.headers['x-request-id'], mirror: req.headers['x-switchyard-mirror'] }) + '\n'
      res.writeHead(broken ? 500 : 200, { 'content-type': 'application/json', 'x-instance': name }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
