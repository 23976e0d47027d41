// `npm run demo`: two payment instances and a payment standby, a member primary and two member replicas,
// and the gateway in front of them, all on loopback. Ctrl-C stops everything.
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'
import type { GatewayConfig } from '../src/index.ts'
import { startService } from './services.ts'

const port = Number(process.env.PORT ?? 8080)
const names = ['payment-1', 'payment-2', 'payment-standby', 'member-primary', 'member-replica-1', 'member-replica-2']
const services = await Promise.all(names.map(startService))
const url = (name: string): string => services.find((s) => s.name === name)!.url

const config = {
  server: { host: '127.0.0.1', port },
  log: { level: 'info', pretty: process.stdout.isTTY },
  pools: {
    payment: {
      targets: [url('payment-1'), url('payment-2'), { url: url('payment-standby'), backup: true }],
      balancer: 'round-robin',
      healthCheck: { path: '/health', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 },
    },
    'member-primary': { targets: [url('member-primary')] },
    'member-replicas': {
      targets: [url('member-replica-1'), url('member-replica-2')],
      balancer: 'least-connections',
      healthCheck: { path: '/health', intervalMs: 1000, timeoutMs: 500 },
    },
  },
  routes: [
    { path: '/payment', pool: 'payment' },
    // reads go to the replicas, everything else to the primary
    { path: '/member', pool: 'member-replicas', methods: ['GET', 'HEAD'] },
    { path: '/member', pool: 'member-primary' },
  ],
} satisfies GatewayConfig

const gateway = buildGateway(validateConfig(config))
let base: string
let admin = '(admin port busy)'
try {
  base = await gateway.listen()
  admin = await gateway.listenAdmin({ port: Number(process.env.ADMIN_PORT ?? 9901) }).catch(() => admin)
} catch (err) {
  process.stderr.write(`demo: cannot listen on 127.0.0.1:${port} (${(err as Error).message}); try PORT=8081 npm run demo\n`)
  for (const s of services) s.server.close()
  process.exit(1)
}

process.stdout.write(`
Switchyard demo is running on ${base}

  payment: ${url('payment-1')}, ${url('payment-2')} (round-robin), standby ${url('payment-standby')}
  member:  writes -> ${url('member-primary')}, reads -> ${url('member-replica-1')}, ${url('member-replica-2')}

Try:
  curl -s ${base}/payment/charge          # alternates payment-1 / payment-2
  curl -s ${base}/member/42               # a replica answers (GET)
  curl -s -X POST ${base}/member/42       # the primary answers (write)
  curl -s -H 'x-request-id: demo-1' -i ${base}/payment/x   # request id passed through
  curl -s -i ${base}/nowhere              # 404 no_route
  curl -s -i '${base}/payment/%2e%2e/admin' --path-as-is   # 400 bad_path
  curl -s ${admin}/pools                   # admin: tiers, breakers, targets
  curl -s -X POST ${admin}/pools/payment/switchover   # send payment traffic to its standby
  curl -s -X POST ${admin}/pools/payment/failback     # and back to the primaries

Ctrl-C stops everything.
`)

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await gateway.close()
  await Promise.all(services.map((s) => new Promise((resolve) => s.server.close(resolve))))
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
