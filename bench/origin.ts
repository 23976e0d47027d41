// Fallback origin, used only when nginx cannot be installed: the same answers as nginx.ts on two ports, from
// Node. `node bench/origin.ts`; says `READY <url>,<url>` on stderr, exits on SIGTERM or when stdin closes.
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { HEALTH_PATH, SMALL_JSON, UPLOAD_ANSWER, UPLOAD_BYTES, UPLOAD_PATH } from './origin-answer.ts'

const small = Buffer.from(SMALL_JSON)
const health = Buffer.from('{"status":"ok"}')
const uploaded = Buffer.from(UPLOAD_ANSWER)

function answer (res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length }).end(body)
}

function origin (): Server {
  const server = createServer((req, res) => {
    if (req.url === UPLOAD_PATH && req.method === 'POST') {
      // answer only once the whole body has been read, as nginx does
      let bytes = 0
      req.on('data', (chunk: Buffer) => { bytes += chunk.length })
      req.on('end', () => answer(res, bytes > 2 * UPLOAD_BYTES ? 413 : 200, uploaded))
      return
    }
    req.resume()
    answer(res, 200, req.url === HEALTH_PATH ? health : small)
  })
  server.keepAliveTimeout = 300_000
  return server
}

const servers = [origin(), origin()]
await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))))
process.stderr.write(`READY ${servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`).join(',')}\n`)

const close = (): void => { for (const s of servers) s.close(); process.exit(0) }
process.once('SIGTERM', close)
process.stdin.once('end', close).resume()
