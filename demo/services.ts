// Tiny demo backends: each answers with its own name, and /health.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface DemoService { name: string; url: string; server: Server }

export async function startService (name: string): Promise<DemoService> {
  const server = createServer((req, res) => {
    req.resume()
    req.once('end', () => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
        return
      }
      const body = JSON.stringify({ instance: name, method: req.method, path: req.url, requestId: req.headers['x-request-id'] }) + '\n'
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance': name }).end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { name, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
