// Baseline: raw @fastify/http-proxy with the same single route and no logging.
import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

const upstream = process.argv[2]!
const app = Fastify({ logger: false })
await app.register(proxy, { upstream, prefix: '/', http: undefined })
const url = await app.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`READY ${url}\n`)
process.on('SIGTERM', () => { void app.close().then(() => process.exit(0)) })
