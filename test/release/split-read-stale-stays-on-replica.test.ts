// A split read that meets a replica's kept-alive connection that died while idle (a NAT's or load balancer's idle
// expiry: reset before any byte of an answer) gets its try on a new connection at the replica, even when the replica
// pool allows one attempt (retry.attempts 1, a natural choice since the primary is a read's retry anyway): the read
// is replayable whatever the pool's policy. Before, with attempts 1 the read fell back to the primary, was counted
// in reads_to_primary{reason="fallback"} ("no replica available or none answered"), and a few such reads in a row
// (an idle expiry before each, or a burst after one) switched the route to fallback (/status reads.fallback, the
// warning): load the replicas exist to keep off the primary, with every replica healthy.
import { once } from 'node:events'
import { createServer, type AddressInfo, type Socket } from 'node:net'
import t from 'tap'
import { DEFAULT_FALLBACK_STREAK } from '../../src/release/plans.ts'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, type Tap, upstream } from '../proxy/setup.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

interface ExpiringUpstream {
  url: string
  /** Connections it accepted. */
  opened: number
  /** Connections open now. */
  open (): number
  /**
   * Connections open now reset on their next byte, as after an idle expiry; new ones work. `together`: their resets
   * are held until that many of them have had a request, then sent at once (a burst that took every dead connection
   * within a round trip), so that each request of the burst meets one.
   */
  expire (together?: number): void
  /** /db/warm answers are held until this many wait, then sent together (each took a connection of its own). */
  warmTogether: number
}

/** A raw HTTP/1.1 replica answering 200, x-upstream: replica; /db/warm answers wait for each other (warmTogether). */
async function expiringReplica (t: Tap): Promise<ExpiringUpstream> {
  let epoch = 0
  let together = 1
  const held: Socket[] = []
  const warming: (() => void)[] = []
  const sockets = new Set<Socket>()
  const up: ExpiringUpstream = {
    url: '',
    opened: 0,
    open: () => sockets.size,
    expire: (n = 1) => { epoch++; together = n },
    warmTogether: 1,
  }
  const server = createServer((socket) => {
    up.opened++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    const born = epoch
    let buffered = ''
    socket.on('data', (chunk: Buffer) => {
      if (born !== epoch) {
        if (!held.includes(socket)) held.push(socket)
        if (held.length >= together) for (const s of held.splice(0)) s.resetAndDestroy()
        return
      }
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        const answer = (): void => { if (!socket.destroyed) socket.write('HTTP/1.1 200 OK\r\nx-upstream: replica\r\ncontent-length: 2\r\n\r\nok') }
        if (!head.split(' ')[1]!.startsWith('/db/warm')) answer()
        // a timer would not do on a loaded host: a read arriving after it fired reused a connection
        else if (warming.push(answer) >= up.warmTogether) for (const send of warming.splice(0)) send()
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  return up
}

async function split (t: Tap) {
  const primary = await upstream(t, 'primary')
  const replica = await expiringReplica(t)
  const gw = await gateway(t, {
    log: { level: 'info' },
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url], retry: { attempts: 1 } } },
    routes: [{ name: 'db', path: '/db', pool: 'primary', reads: { pool: 'replicas' } }],
  })
  const series = async (): Promise<Record<string, number>> => seriesOf(await gw.gateway.metrics!.render())
  const toPrimary = async (reason: string): Promise<number> => (await series())[key('switchyard_reads_to_primary_total', { route: 'db', reason })] ?? 0
  const servedBy = async (path: string): Promise<string> => {
    const res = await httpRequest(`${gw.url}${path}`)
    return res.status !== 200 ? `status ${res.status}` : res.headers['x-upstream'] === 'replica' ? 'replica' : res.echo().name
  }
  /** The route is not falling back: /status, and no warning said so. */
  const notFallingBack = (): void => {
    t.equal(gw.gateway.status().routes[0]!.reads!.fallback, false, '/status: the route is not in fallback')
    t.notOk(gw.logs.some((l) => /reads go to the primary/.test(l.msg)), 'no warning that reads go to the primary')
  }
  return { primary, replica, gw, series, toPrimary, servedBy, notFallingBack }
}

t.test('a read after each idle expiry of the replica\'s connections is served by the replica', async (t) => {
  const { primary, replica, gw, toPrimary, servedBy, series, notFallingBack } = await split(t)
  const ROUNDS = DEFAULT_FALLBACK_STREAK + 1
  for (let i = 0; i < ROUNDS; i++) {
    t.equal(await servedBy(`/db/warm${i}`), 'replica', `round ${i}: a read leaves a kept-alive connection at the replica`)
    replica.expire()
    const path = `/db/after${i}`
    t.equal(await servedBy(path), 'replica', `round ${i}: the read that met the stale connection served by the replica`)
    await waitFor(() => gw.accessLogs().some((l) => l.path === path))
    t.match(gw.accessLogs().find((l) => l.path === path), { status: 200, pool: 'replicas', attempts: 2, targets: [replica.url, replica.url] }, `round ${i}: a stale try, then the replica on a new connection`)
  }
  t.equal(primary.requests.length, 0, 'the primary was sent no read')
  t.equal(await toPrimary('fallback'), 0, 'reads_to_primary{reason="fallback"}: none')
  t.equal((await series())[key('switchyard_retries_total', { pool: 'replicas', reason: 'stale' })], ROUNDS, 'each sent once more at the replica, as a stale retry')
  notFallingBack()
})

t.test('a burst of reads after one idle expiry is served by the replica', async (t) => {
  const { primary, replica, gw, toPrimary, servedBy, notFallingBack } = await split(t)
  // more reads in a row than it takes to switch the route to fallback
  const BURST = 2 * DEFAULT_FALLBACK_STREAK
  // reads at once (the replica answers them once all have come): one kept-alive connection each
  replica.warmTogether = BURST
  t.strictSame(await Promise.all(Array.from({ length: BURST }, (_, i) => servedBy(`/db/warm${i}`))), Array(BURST).fill('replica'), 'the warm-up reads served by the replica')
  t.equal(replica.opened, BURST, `the replica has ${BURST} connections`)
  await waitFor(() => replica.open() === BURST)
  // every read of the burst takes one of the dead connections
  replica.expire(BURST)
  t.strictSame(await Promise.all(Array.from({ length: BURST }, (_, i) => servedBy(`/db/after${i}`))), Array(BURST).fill('replica'), 'every read served by the replica')
  await waitFor(() => gw.gateway.proxy.active === 0)
  t.equal(gw.accessLogs().filter((l) => (l.path as string).startsWith('/db/after') && l.attempts === 2).length, BURST, 'each met a stale connection first')
  t.equal(primary.requests.length, 0, 'the primary was sent no read')
  t.equal(await toPrimary('fallback'), 0, 'reads_to_primary{reason="fallback"}: none')
  notFallingBack()
})
