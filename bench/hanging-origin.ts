// A mirror target that hangs: `node bench/hanging-origin.ts <ms>` answers every request after <ms> and counts how
// many it holds at once. Says `READY <url>` on stderr; `GET /__stats` answers at once with
// { requests, inFlight, maxInFlight } and resets maxInFlight. Exits when stdin closes.
import { createServer } from 'node:http'

const holdMs = Number(process.argv[2] ?? 10_000)
let requests = 0
let inFlight = 0
let maxInFlight = 0
const server = createServer((req, res) => {
  if (req.url === '/__stats') {
    res.end(JSON.stringify({ requests, inFlight, maxInFlight }))
    maxInFlight = inFlight
    return
  }
  requests++
  maxInFlight = Math.max(maxInFlight, ++inFlight)
  let held = true
  const release = (): void => {
    if (!held) return
    held = false
    inFlight--
  }
  const timer = setTimeout(() => { release(); res.end('late') }, holdMs)
  // the gateway gave up on it (its mirror deadline) or closed: no longer held
  res.once('close', () => { clearTimeout(timer); release() })
  req.resume()
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number }
  process.stderr.write(`READY http://127.0.0.1:${port}\n`)
})
process.stdin.on('end', () => process.exit(0)).resume()
