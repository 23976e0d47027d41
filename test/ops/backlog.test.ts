// server.backlog reaches the kernel: a listener's accept queue is as deep as configured (Linux shows it as the
// listening socket's Send-Q in `ss`), so a burst of connections waits there instead of having its handshakes
// dropped (and its clients waiting a 1 s SYN-ACK retransmission).
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

/** The accept-queue limit of the TCP listener on this port, from `ss` (undefined where ss is missing). */
function listenBacklog (port: number): number | undefined {
  const ss = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' })
  if (ss.status !== 0) return undefined
  const fields = ss.stdout.trim().split(/\s+/)
  return fields.length >= 3 ? Number(fields[2]) : undefined
}

const hasSs = spawnSync('ss', ['-V']).status === 0

t.test('the listener takes server.backlog, and 4096 by default', { skip: hasSs ? false : 'needs ss (iproute2)' }, async (t) => {
  const upstream = await TestUpstream.start()
  t.teardown(() => upstream.close())
  const config = { pools: { app: { targets: [upstream.url] } }, routes: [{ path: '/', pool: 'app' }] }
  for (const [backlog, expected] of [[undefined, 4096], [77, 77]] as const) {
    const gw = await startGateway({ ...config, server: backlog === undefined ? {} : { backlog } })
    t.teardown(() => gw.close())
    const port = Number(new URL(gw.url).port)
    // the kernel caps it at net.core.somaxconn
    const somaxconn = Number(spawnSync('sysctl', ['-n', 'net.core.somaxconn'], { encoding: 'utf8' }).stdout.trim()) || Infinity
    t.equal(listenBacklog(port), Math.min(expected, somaxconn), `backlog ${backlog ?? 'default'}`)
  }
})
