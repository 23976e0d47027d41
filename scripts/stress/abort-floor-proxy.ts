// The Node floor for client aborts: bench/floor.ts's pass-through (node:http in, undici Pool.dispatch out), plus
// the one thing a correct proxy must do when its client leaves before the answer: abort the upstream request.
// No routing, breaker, retries, metrics or logging. `node abort-floor-proxy.ts <upstream-url>`: prints its port.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'

// as many connections as the aborts run gives the gateway (connections.maxPerTarget 256)
const pool = new Pool(process.argv[2]!, { connections: 256, pipelining: 1, keepAliveTimeout: 60_000 })

class PassThrough implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse
  #controller: Dispatcher.DispatchController | undefined
  #clientGone = false
  constructor (res: ServerResponse) {
    this.#res = res
    res.once('close', () => {
      if (res.writableFinished) return
      this.#clientGone = true
      this.#controller?.abort(new Error('client gone'))
    })
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#clientGone) controller.abort(new Error('client gone'))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number): void { this.#res.writeHead(statusCode) }
  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void { this.#res.write(chunk) }
  onResponseEnd (): void { this.#res.end() }
  onResponseError (): void { if (!this.#res.headersSent) this.#res.writeHead(502).end() }
}

const server = createServer((req, res) => {
  pool.dispatch({ method: 'GET', path: req.url!, headers: [] }, new PassThrough(res))
})
server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`))
process.once('SIGTERM', () => process.exit(0))
process.once('SIGINT', () => process.exit(0))
