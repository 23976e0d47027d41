// `npm run demo`: payment v1 (two instances and a standby) with a v2 canary and a shadow, a member primary with
// two read replicas (one of them lagging on purpose), and the gateway in front of them, all on loopback.
// Ctrl-C stops everything.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildGateway } from '../src/app.ts'
import { loadConfigFile } from '../src/config/load.ts'
import { ConfigWatcher } from '../src/config/watch.ts'
import type { GatewayConfig } from '../src/index.ts'
import { startService, type DemoService } from './services.ts'

const port = Number(process.env.PORT ?? 8080)
const services: DemoService[] = await Promise.all([
  startService('payment-1'), startService('payment-2'), startService('payment-standby'),
  startService('payment-v2'), startService('payment-shadow'),
  startService('member-primary'), startService('member-replica-1', { lagMs: 0 }), startService('member-replica-2', { lagMs: 5000 }),
])
const url = (name: string): string => services.find((s) => s.name === name)!.url
const check = { path: '/health', intervalMs: 1000, timeoutMs: 500, healthyThreshold: 2, unhealthyThreshold: 2 }

const config = {
  server: { host: '127.0.0.1', port },
  log: { level: 'info', pretty: process.stdout.isTTY },
  // the same on every gateway replica, so read-your-writes holds across them (SWITCHYARD_SECRET in Kubernetes)
  secret: 'demo-secret-not-for-production!!',
  pools: {
    payment: { targets: [url('payment-1'), url('payment-2'), { url: url('payment-standby'), backup: true }], healthCheck: check },
    'payment-v2': { targets: [url('payment-v2')], retry: { attempts: 1 } },
    'payment-shadow': { targets: [url('payment-shadow')], timeouts: { requestMs: 2000 } },
    'member-primary': { targets: [url('member-primary')] },
    'member-replicas': { targets: [url('member-replica-1'), url('member-replica-2')], balancer: 'least-connections', healthCheck: check },
  },
  routes: [
    {
      name: 'payment', path: '/payment', pool: 'payment',
      canary: { pool: 'payment-v2', weight: 10, stickyBy: 'header:x-user-id', force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 5, minRequests: 20, windowMs: 30000 } },
      mirror: { pool: 'payment-shadow', percent: 5, maxConcurrent: 16 },
    },
    // reads go to the replicas (member-replica-2 reports 5 s of lag, over maxLagMs: it takes no reads);
    // a client's own writes pin its reads to the primary for 3 s
    { name: 'member', path: '/member', pool: 'member-primary', reads: { pool: 'member-replicas', methods: ['GET', 'HEAD'], stickyAfterWriteMs: 3000, maxLagMs: 1000 } },
  ],
} satisfies GatewayConfig

// written to a file, as a real deployment's config is: edit it (or POST /reload) to see a hot reload
const configDir = mkdtempSync(join(tmpdir(), 'switchyard-demo-'))
const configFile = join(configDir, 'routes.config.json')
writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n')
const gateway = buildGateway(await loadConfigFile(configFile), { configFile })
const watcher = new ConfigWatcher(configFile, () => { void gateway.reload('file') }, {
  onError: (err) => gateway.logger.warn({ err }, 'config file watch error'),
})
await watcher.start()
let base: string
let admin: string
const adminPort = Number(process.env.ADMIN_PORT ?? 9901)
let adminNote = ''
try {
  base = await gateway.listen()
  // a busy admin port takes another (every curl line below then names it): the demo is whole or not at all
  admin = await gateway.listenAdmin({ port: adminPort }).catch(async () => {
    adminNote = ` (port ${adminPort} was busy; ADMIN_PORT=... chooses one)`
    return gateway.listenAdmin({ port: 0 })
  })
} catch (err) {
  process.stderr.write(`demo: cannot listen on 127.0.0.1:${port} (${(err as Error).message}); try PORT=8081 npm run demo\n`)
  for (const s of services) s.server.close()
  watcher.close()
  rmSync(configDir, { recursive: true, force: true })
  process.exit(1)
}

process.stdout.write(`
Switchyard demo is running on ${base} (admin ${admin}${adminNote})
Dashboard: open ${admin}/ in a browser

  payment: ${url('payment-1')}, ${url('payment-2')}, standby ${url('payment-standby')}
           canary payment-v2 ${url('payment-v2')} at 10%, 5% mirrored to payment-shadow ${url('payment-shadow')}
  member:  writes -> ${url('member-primary')}, reads -> ${url('member-replica-1')} (member-replica-2 lags on purpose)

Routing and errors:
  curl -s ${base}/payment/charge                               # payment-1 / payment-2 (or payment-v2 for ~10%)
  curl -s -i ${base}/nowhere                                   # 404 no_route
  curl -s -i '${base}/payment/%2e%2e/admin' --path-as-is       # 400 bad_path

Read/write split with read-your-writes:
  curl -s ${base}/member/42                                    # a replica answers
  curl -s -c /tmp/sy.jar -X POST ${base}/member/42             # the primary answers the write, sets sy_rw
  curl -s -b /tmp/sy.jar ${base}/member/42                     # your read goes to the primary for 3 s...
  sleep 3; curl -s -b /tmp/sy.jar ${base}/member/42            # ...then to a replica again
  curl -s ${admin}/status | grep -o '"state":"lagging"'        # member-replica-2 takes no reads

A release with a canary:
  curl -s -H 'x-user-id: alice' ${base}/payment/x               # alice always gets the same version (its "version")
  curl -s -H 'x-canary: always' ${base}/payment/x               # forced onto payment-v2
  curl -s -X POST -H 'content-type: application/json' -d '{"weight":50}' ${admin}/routes/payment/canary
  curl -s -X POST ${url('payment-v2')}/__break                 # v2 starts answering 500...
  for i in $(seq 30); do curl -s -o /dev/null -H 'x-canary: always' ${base}/payment/x; done
  curl -s ${admin}/status | grep -o '"weightSource":"[a-z]*"'  # ...and is rolled back by itself: rollback

Operations:
  curl -s ${admin}/status                                      # routes, pools, targets, canary, split
  curl -s ${admin}/metrics | grep switchyard_requests_total    # Prometheus metrics
  curl -s -X POST ${admin}/pools/payment/targets/$(echo ${url('payment-1')} | sed 's|http://||; s|:|%3A|')/drain
  curl -s -X POST -H 'content-type: application/json' -d '{"to":"backup"}' ${admin}/pools/payment/switchover

Hot reload: the config is ${configFile}
  edit it (a canary weight, a pool's targets) and save: it is reloaded at once; or curl -s -X POST ${admin}/reload

Ctrl-C stops everything.
`)

let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  watcher.close()
  await gateway.close()
  rmSync(configDir, { recursive: true, force: true })
  await Promise.all(services.map((s) => new Promise((resolve) => s.server.close(resolve))))
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
