// Baseline: raw @fastify/http-proxy with the same single route and no logging.
// `node bench/raw-proxy.ts <origin-url>`; says `READY <url>` on stderr, exits on SIGTERM or when stdin closes.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const upstream = process.argv[2]!
const app = Fastify({ logger: false })
await app.register(proxy, { upstream, prefix: '/', http: undefined })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stderr.write(`READY ${url}\n`)

const close = (): void => { void app.close().then(() => process.exit(0)) }
process.once('SIGTERM', close)
process.stdin.once('end', close).resume()
