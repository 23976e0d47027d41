// `node bench/idle-connections.ts [--connections 10000] [--contender switchyard-full]`: the proxy's resident memory
// with that many idle keep-alive client connections, each of which has sent one GET / (answered) and then stays
// open. The proxy runs as in run.ts (its shipped V8 flags, pinned to CPU 0) in front of the nginx origin.
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
  },
})
const total = Number(values.connections)
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
  const openOne = (): Promise<void> => new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname)
    let answer = ''
    socket.setEncoding('latin1')
    socket.once('error', reject)
    socket.on('data', (d: string) => {
      answer += d
      const end = answer.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: (\d+)/i.exec(answer)
      if (end < 0 || length === null || answer.length < end + 4 + Number(length[1])) return
      if (!answer.startsWith('HTTP/1.1 200')) return reject(new Error(answer.split('\r\n')[0]))
      sockets.push(socket)
      resolve()
    })
    socket.write(`GET / HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
  })
  // in waves, so the listener's accept backlog never overflows
  const WAVE = 500
  for (let opened = 0; opened < total; opened += WAVE) {
    await Promise.all(Array.from({ length: Math.min(WAVE, total - opened) }, openOne))
  }
  const open = sockets.filter((s) => !s.destroyed).length
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const after = rssMiB(c.pid)
  process.stdout.write(`${spec.name}: ${open} idle keep-alive connections open; RSS ${before.toFixed(0)} MiB before, ${after.toFixed(0)} MiB with them (peak ${(peakRssKiB(c.pid) / 1024).toFixed(0)} MiB), ${((after - before) * 1024 / open).toFixed(1)} KiB per connection\n`)
} finally {
  for (const s of sockets) s.destroy()
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}
