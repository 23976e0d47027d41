// Fallback load generator, used only when wrk cannot be installed. autocannon runs in Node and saturates its
// own core near 2,500-3,000 req/s on this machine, so its figures measure autocannon, not the proxy: the run
// says so in its output.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startProcess, waitForExit } from './children.ts'
import type { LoadGenerator } from './load.ts'

const cli = join(dirname(fileURLToPath(import.meta.url)), '../node_modules/autocannon/autocannon.js')

interface AutocannonJson {
  requests: { total: number }
  duration: number
  latency: { p99: number }
  non2xx: number
  errors: number
  timeouts: number
}

export function autocannonGenerator (scratchDir: string): LoadGenerator {
  return async (request) => {
    const args = [cli, '-j', '-c', String(request.connections), '-d', String(request.seconds)]
    if (request.body) {
      const file = join(scratchDir, `body-${request.body.bytes}.bin`)
      writeFileSync(file, Buffer.alloc(request.body.bytes, 'x'))
      args.push('-m', 'POST', '-i', file, '-H', `content-type=${request.body.contentType}`)
    }
    args.push(request.url)
    const child = startProcess(process.execPath, args, { cpu: request.cpu, stdout: 'pipe' })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr!.resume()
    const code = await waitForExit(child, (request.seconds + 20) * 1000)
    if (code === undefined) throw new Error('autocannon did not finish')
    const r = JSON.parse(out) as AutocannonJson
    return {
      requests: r.requests.total,
      seconds: r.duration,
      requestsPerSecond: r.requests.total / r.duration,
      p99Ms: r.latency.p99,
      non2xx: r.non2xx,
      socketErrors: r.errors + r.timeouts,
    }
  }
}
