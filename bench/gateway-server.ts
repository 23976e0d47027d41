// Switchyard under benchmark: one pool, the measured route, optionally thousands of other routes,
// and one access-log line per request written to a file.
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'

const upstream = process.argv[2]!
const extraRoutes = Number(process.argv[3] ?? 0)
const routes = [{ path: '/', pool: 'origin' }]
for (let i = 0; i < extraRoutes; i++) routes.push({ path: `/service-${i}/api/v${i % 7}`, pool: 'origin' })
const config = validateConfig({
  server: { host: '127.0.0.1', port: 0 },
  log: { level: 'info', destination: join(tmpdir(), `switchyard-bench-${process.pid}.log`) },
  pools: { origin: { targets: [upstream], balancer: 'round-robin' } },
  routes,
})
const gateway = buildGateway(config)
const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(`READY ${url}\n`)
process.on('SIGTERM', () => { void gateway.close().then(() => process.exit(0)) })
