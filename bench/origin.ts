// The benchmark's origin: a minimal keep-alive HTTP server answering a small fixed body.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

const body = Buffer.from('hello from origin\n')
const server = createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
