// Runs one gateway in its own process, so a test can measure that process alone (RSS) while it proxies.
// Usage: node test/proxy/gateway-child.ts '<config JSON>'   (or SWITCHYARD_TEST_CONFIG in the environment)
// Prints one line {"url": "..."} on stdout once listening; closes on SIGTERM and exits 0.
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'

const raw = process.argv[2] ?? process.env.SWITCHYARD_TEST_CONFIG
if (raw === undefined) {
  process.stderr.write('gateway-child: pass the config JSON as the first argument or in SWITCHYARD_TEST_CONFIG\n')
  process.exit(2)
}
const config = validateConfig({ log: { level: 'warn', destination: 'stderr' }, ...(JSON.parse(raw) as Record<string, unknown>) })
const gateway = buildGateway(config)
const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
process.stdout.write(JSON.stringify({ url, pid: process.pid }) + '\n')

process.once('SIGTERM', () => {
  gateway.close().then(() => process.exit(0), (err: unknown) => {
    process.stderr.write(`gateway-child: close failed: ${String(err)}\n`)
    process.exit(1)
  })
})
