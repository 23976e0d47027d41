// The gateway out of file descriptors (a low `ulimit -n`, a burst of idle clients): its own shortage is not the
// upstreams' fault. A request whose upstream connect fails with EMFILE is answered 503 `overloaded` (Retry-After),
// not 502 `upstream_unreachable`; no target is ejected, no breaker opens, and health probes that cannot be sent
// mark nothing down. Before, the pool was taken out by its own gateway, and stayed refused (breaker open, a target
// ejected) after the descriptors came back. Runs the real CLI under `prlimit --nofile`.
import { request, Agent } from 'node:http'
import { connect, type Socket } from 'node:net'
import { mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startCli, writeConfig } from '../helpers/cli-process.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'
import { waitFor } from '../helpers/gateway.ts'

const FDS = 128

function get (url: string, agent: Agent): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: res.statusCode === 200 ? undefined : (JSON.parse(body) as { error: string }).error }))
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code }))
    req.end()
  })
}

/** Opens `count` idle connections to `port`, each settled once connected, reset or refused. */
async function idleClients (port: number, count: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  await Promise.all(Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const s = connect(port, '127.0.0.1')
    sockets.push(s)
    s.once('connect', () => resolve()).once('error', () => resolve()).once('close', () => resolve())
  })))
  return sockets
}

/**
 * Idle clients until the gateway holds every descriptor its limit allows (read from /proc): libuv's accept-and-close
 * trick resets some of them and frees their descriptors again, so one burst does not always fill the table.
 */
async function exhaust (port: number, pid: number): Promise<Socket[]> {
  const sockets: Socket[] = []
  for (let round = 0; round < 20; round++) {
    sockets.push(...await idleClients(port, FDS))
    await new Promise((resolve) => setTimeout(resolve, 50))
    if (readdirSync(`/proc/${pid}/fd`).length >= FDS) return sockets
  }
  throw new Error(`the gateway never held ${FDS} descriptors (${readdirSync(`/proc/${pid}/fd`).length})`)
}

t.test('out of file descriptors: 503 overloaded, no target blamed, and all back once they free up', async (t) => {
  // each answer closes its connection: every attempt and probe needs a new one
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    req.resume()
    res.setHeader('connection', 'close')
    res.end('ok')
  }
  const [a, b] = await Promise.all([serveOnLoopback(t, handler), serveOnLoopback(t, handler)])
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-fds-')), 'config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    pools: { p: { targets: [a.url, b.url], retry: { backoff: { baseMs: 1, maxMs: 2 } }, healthCheck: { path: '/health', intervalMs: 500, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 } } },
    routes: [{ path: '/', pool: 'p' }],
  })
  // (probes get 500 ms: at 250 a slow host's loop, busy refusing accepts, timed one out and the target was marked down)
  const gw = await startCli(t, file, { wrapper: ['prlimit', `--nofile=${FDS}:${FDS}`], env: { SWITCHYARD_NODE_FLAGS: 'off' } })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  t.equal((await get(`${gw.url}/warm`, agent)).status, 200, 'a kept-alive client connection, opened while descriptors were plenty')
  const port = Number(new URL(gw.url).port)
  const idle = await exhaust(port, gw.proc.pid!)
  t.teardown(() => { for (const s of idle) s.destroy() })
  const during: string[] = []
  for (let i = 0; i < 25; i++) {
    const r = await get(`${gw.url}/during`, agent)
    during.push(`${r.status} ${r.error ?? ''}`.trim())
  }
  t.ok(during.includes('503 overloaded'), `the gateway's own shortage answered as such: ${[...new Set(during)].join(', ')}`)
  t.notOk(during.some((d) => d.startsWith('502')), 'never blamed on the upstream')
  // some probes go out meanwhile (every 250 ms; a probe gets 250 ms, as a loaded CI host may need to answer one), and fail for want of a descriptor
  await new Promise((resolve) => setTimeout(resolve, 600))
  for (const s of idle) s.destroy()
  await waitFor(async () => (await get(`${gw.url}/after`, agent)).status === 200)
  const after = await Promise.all([1, 2, 3, 4].map(async () => (await get(`${gw.url}/after`, agent)).status))
  t.strictSame(after, [200, 200, 200, 200], 'served once descriptors are free')
  const blamed = gw.records.filter((r) => typeof r.msg === 'string' && /target ejected|target unhealthy|circuit breaker open|no target available/.test(r.msg)).map((r) => r.msg)
  t.strictSame(blamed, [], 'no target ejected or marked down, no breaker opened')
  await gw.waitForRecord((r) => r.msg === 'request' && r.status === 503) // lines are written in batches
  const lines = gw.records.filter((r) => r.msg === 'request' && r.status === 503)
  t.ok(lines.length > 0 && lines.every((r) => r.error === 'overloaded' && r.upstreamError === 'EMFILE'), 'the access log says the gateway ran out (EMFILE)')
})

// The same shortage on a canary route and on a WebSocket upgrade: the forced canary requests' 503 overloaded say
// nothing of the version (before, they rolled a healthy canary back, kept until an operator acted), and a refused
// upgrade is told when to come back and logged with the cause, as a request is.
t.test('out of file descriptors: no canary rollback, and an upgrade refused with Retry-After and its cause', async (t) => {
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void => {
    req.resume()
    res.setHeader('connection', 'close')
    res.end('ok')
  }
  const [stable, next] = await Promise.all([serveOnLoopback(t, handler), serveOnLoopback(t, handler)])
  const file = join(mkdtempSync(join(tmpdir(), 'switchyard-fds-')), 'config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    pools: { stable: { targets: [stable.url] }, next: { targets: [next.url] } },
    routes: [{ name: 'app', path: '/', pool: 'stable', canary: { pool: 'next', weight: 50, force: { header: 'x-canary', values: ['always'] }, rollback: { maxErrorRatePercent: 5, minRequests: 5, windowMs: 30_000 } } }],
  })
  const gw = await startCli(t, file, { wrapper: ['prlimit', `--nofile=${FDS}:${FDS}`], env: { SWITCHYARD_NODE_FLAGS: 'off' } })
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const admin = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy(); admin.destroy() })
  t.equal((await get(`${gw.url}/warm`, agent)).status, 200)
  t.equal((await get(`${gw.adminUrl}/readyz`, admin)).status, 200)
  const port = Number(new URL(gw.url).port)
  // a client connection for the upgrade, opened while descriptors were plenty
  const ws = connect(port, '127.0.0.1')
  t.teardown(() => ws.destroy())
  await new Promise((resolve) => ws.once('connect', resolve))
  const idle = await exhaust(port, gw.proc.pid!)
  t.teardown(() => { for (const s of idle) s.destroy() })
  const forced: string[] = []
  for (let i = 0; i < 10; i++) {
    const r = await new Promise<{ status: number; error?: string }>((resolve) => {
      const req = request(`${gw.url}/during`, { agent, headers: { 'x-canary': 'always' } }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => { body += c.toString() })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, error: res.statusCode === 200 ? undefined : (JSON.parse(body) as { error: string }).error }))
      })
      req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code }))
      req.end()
    })
    forced.push(`${r.status} ${r.error ?? ''}`.trim())
  }
  t.ok(forced.includes('503 overloaded'), `forced onto the canary, out of descriptors: ${[...new Set(forced)].join(', ')}`)
  let answer = ''
  ws.on('data', (c: Buffer) => { answer += c.toString('latin1') })
  ws.write('GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
  await waitFor(() => answer.includes('\r\n\r\n'))
  t.match(answer, /^HTTP\/1\.1 503 /, 'the upgrade refused, 503')
  t.match(answer, /\r\nretry-after: 1\r\n/i, 'with Retry-After')
  for (const s of idle) s.destroy()
  await waitFor(async () => (await get(`${gw.url}/after`, agent)).status === 200)
  const status = await new Promise<string>((resolve) => {
    request(`${gw.adminUrl}/status`, { agent: admin }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve(body))
    }).end()
  })
  const canary = (JSON.parse(status) as { routes: { name?: string; canary?: { weight: number; weightSource: string } }[] }).routes.find((r) => r.name === 'app')!.canary!
  t.match(canary, { weight: 50, weightSource: 'file' }, 'no rollback for the gateway\'s own shortage')
  const line = await gw.waitForRecord((r) => r.msg === 'request' && r.path === '/chat')
  t.match(line, { status: 503, error: 'overloaded', upstreamError: 'EMFILE' }, 'the upgrade\'s line names the cause')
})
