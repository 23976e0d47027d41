// The floor: the least a correct Node proxy does. node:http in, undici Pool.dispatch out, and a handler that
// writes the origin's raw headers and body straight to the ServerResponse. No routing, logging or resilience:
// no gateway built on node:http and undici can cost less per request than this.
// `node bench/floor.ts <origin-url>...`; says `READY <url>` on stderr, exits on SIGTERM or when stdin closes.
// More than one origin URL: a Pool per URL, taken in turn (round robin), the floor for a pool of many targets.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Pool, type Dispatcher } from 'undici'

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-connection'])
// 128 connections per origin: @fastify/reply-from's default, and Switchyard's until its default became Envoy's 1,024.
// At c=256 the floor so keeps 128 requests in undici's queue, where switchyard-full opens 256 (two targets × 128);
// kept as it was, so the floor's figures compare across rounds; BENCH_FLOOR_CONNECTIONS sets another size.
const CONNECTIONS = Number(process.env.BENCH_FLOOR_CONNECTIONS ?? 128)
const pools = process.argv.slice(2).map((url) => new Pool(url, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 }))
let turn = 0
const nextPool = pools.length === 1 ? (): Pool => pools[0]! : (): Pool => pools[turn = (turn + 1) % pools.length]!

function withoutHopByHop (raw: readonly (string | Buffer)[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString()
    if (!HOP_BY_HOP.has(name.toLowerCase())) out.push(name, raw[i + 1]!.toString())
  }
  return out
}

class PassThrough implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse
  constructor (res: ServerResponse) { this.#res = res }

  onRequestStart (): void { /* undici requires it; nothing to keep */ }

  onResponseStart (controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#res.writeHead(statusCode, withoutHopByHop(controller.rawHeaders as Buffer[]))
  }

  onResponseData (controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res.write(chunk)) return
    // a client that is gone never drains: give the origin connection back instead of waiting forever
    if (this.#res.destroyed) return controller.abort(new Error('client gone'))
    controller.pause()
    const res = this.#res
    const proceed = (): void => {
      res.off('drain', proceed).off('close', proceed)
      if (res.destroyed) controller.abort(new Error('client gone'))
      else controller.resume()
    }
    res.on('drain', proceed).on('close', proceed)
  }

  onResponseEnd (): void { this.#res.end() }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    if (this.#res.headersSent) this.#res.destroy(err)
    else this.#res.writeHead(502).end()
  }
}

const server = createServer((req, res) => {
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  nextPool().dispatch({ method: req.method as Dispatcher.HttpMethod, path: req.url!, headers: withoutHopByHop(req.rawHeaders), body: hasBody ? req : null }, new PassThrough(res))
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => process.stderr.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`))

const close = (): void => { server.close(); void Promise.all(pools.map((p) => p.close())).then(() => process.exit(0)) }
process.once('SIGTERM', close)
process.stdin.once('end', close).resume()
