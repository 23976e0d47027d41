// `node bench/idle-connections.ts [--connections 10000] [--contender switchyard-full] [--minutes 0]`: the proxy's
// resident memory with that many idle keep-alive client connections, each of which has sent one GET / (answered)
// and then stays open. The proxy runs as in run.ts (its shipped V8 flags, pinned to CPU 0) in front of the nginx
// origin. With --minutes N the connections are held open N minutes (each sends another GET every 30 s, spread
// evenly, inside the gateway's 60 s clientIdleMs) and the RSS is printed every minute (issue #12 bar 3: flat ± 10%).
import { connect, type Socket } from 'node:net'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, stopAll } from './children.ts'
import { CONTENDERS, startContender } from './contenders.ts'
import { peakRssKiB } from './proc.ts'
import { prepareLoadSide } from './setup.ts'

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '10000' },
    contender: { type: 'string', default: 'switchyard-full' },
    minutes: { type: 'string', default: '0' },
  },
})
const total = Number(values.connections)
const minutes = Number(values.minutes)
const REFRESH_MS = 30_000
const spec = CONTENDERS.find((c) => c.name === values.contender)
if (spec === undefined) throw new Error(`unknown contender ${values.contender}`)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }
const rssMiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-idle-'))
const sockets: Socket[] = []

try {
  const { origin } = await prepareLoadSide(dir, 1, log)
  const c = await startContender(spec, origin, dir, 0)
  const url = new URL(c.url)
  const before = rssMiB(c.pid)
  // a raw keep-alive GET per connection; the answer is read whole (until the origin's body has arrived)
  const exchange = (socket: Socket): Promise<void> => new Promise((resolve, reject) => {
    let answer = ''
    const onData = (d: string): void => {
      answer += d
      const end = answer.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)/i.exec(answer)
      if (end < 0 || length === null || answer.length < end + 4 + Number(length[1])) return
      socket.off('data', onData)
      socket.off('close', onClose)
      if (!answer.startsWith('HTTP/1.1 200')) return reject(new Error(answer.split('\r\n')[0]))
      resolve()
    }
    const onClose = (): void => { socket.off('data', onData); reject(new Error('closed')) }
    socket.on('data', onData)
    socket.once('close', onClose)
    socket.write(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
  })
  const openOne = async (): Promise<void> => {
    const socket = connect(Number(url.port), url.hostname)
    socket.setEncoding('latin1')
    socket.on('error', () => {}) // a failure shows as 'close' in exchange() or as a socket not counted open
    await exchange(socket)
    sockets.push(socket)
  }
  /** Holds the connections open `minutes`, each sending a GET every REFRESH_MS, and prints the RSS every minute. */
  async function hold (pid: number, start: number): Promise<void> {
    let answered = 0
    let failed = 0
    const timers: NodeJS.Timeout[] = []
    const refresh = sockets.map((socket, i) => {
      const beat = (): void => { exchange(socket).then(() => { answered++ }, () => { failed++ }) }
      // spread evenly over the period, so the background load is steady (10,000 connections: ~333 req/s)
      return setTimeout(() => { beat(); timers[i] = setInterval(beat, REFRESH_MS) }, (i * REFRESH_MS) / sockets.length)
    })
    const rows: number[] = []
    for (let minute = 1; minute <= minutes; minute++) {
      await new Promise((resolve) => setTimeout(resolve, 60_000))
      const rss = rssMiB(pid)
      rows.push(rss)
      const open = sockets.filter((s) => !s.destroyed).length
      process.stdout.write(`minute ${minute}: RSS ${rss.toFixed(0)} MiB (${(((rss - rows[0]!) / rows[0]!) * 100).toFixed(1)}% from minute 1), ${open} open, ${answered} answered, ${failed} failed\n`)
    }
    for (const t of [...refresh, ...timers]) clearTimeout(t)
    const spread = (Math.max(...rows) - Math.min(...rows)) / rows[0]!
    process.stdout.write(`held ${minutes} min: RSS ${Math.min(...rows).toFixed(0)}-${Math.max(...rows).toFixed(0)} MiB (at opening ${start.toFixed(0)}), spread ${(spread * 100).toFixed(1)}% of minute 1; ${answered} answered, ${failed} failed\n`)
  }

  // in waves, so the listener's accept backlog never overflows
  const WAVE = 500
  for (let opened = 0; opened < total; opened += WAVE) {
    await Promise.all(Array.from({ length: Math.min(WAVE, total - opened) }, openOne))
  }
  const open = sockets.filter((s) => !s.destroyed).length
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const after = rssMiB(c.pid)
  process.stdout.write(`${spec.name}: ${open} idle keep-alive connections open; RSS ${before.toFixed(0)} MiB before, ${after.toFixed(0)} MiB with them (peak ${(peakRssKiB(c.pid) / 1024).toFixed(0)} MiB), ${((after - before) * 1024 / open).toFixed(1)} KiB per connection\n`)
  if (minutes > 0) await hold(c.pid, after)
} finally {
  for (const s of sockets) s.destroy()
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}
