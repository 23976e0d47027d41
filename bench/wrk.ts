// wrk as the load generator: one thread (its own CPU), a fixed number of keep-alive connections, --latency.
// A body is sent by a generated Lua script that sets wrk.body once, so wrk does no Lua work per request.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startProcess, waitForExit } from './children.ts'
import type { LoadGenerator, LoadResult } from './load.ts'

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

function durationMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text)
  if (!m) throw new Error(`not a wrk duration: ${text}`)
  return Number(m[1]) * UNIT_MS[m[2]!]!
}

/** The figures of `wrk --latency` output. Throws when the run printed no summary (e.g. it could not connect). */
export function parseWrkOutput (out: string): LoadResult {
  const total = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),/m.exec(out)
  const p99 = /^\s*99(?:\.0+)?%\s+(\S+)\s*$/m.exec(out)
  if (!total || !p99) throw new Error(`wrk printed no summary:\n${out.trim()}`)
  const requests = Number(total[1])
  const seconds = durationMs(`${total[2]}${total[3]}`) / 1000
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  return {
    requests,
    seconds,
    requestsPerSecond: seconds > 0 ? requests / seconds : 0,
    p99Ms: durationMs(p99[1]!),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  }
}

/** The Lua script wrk runs for a body: built once per run, the same bytes every request. */
export function wrkBodyScript (bytes: number, contentType: string): string {
  return [
    'wrk.method = "POST"',
    `wrk.body = string.rep("x", ${bytes})`,
    `wrk.headers["Content-Type"] = ${JSON.stringify(contentType)}`,
    '',
  ].join('\n')
}

export function wrkGenerator (binary: string, scratchDir: string): LoadGenerator {
  return async (request) => {
    const args = ['-t1', `-c${request.connections}`, `-d${request.seconds}s`, '--latency', '--timeout', '10s']
    if (request.body) {
      const script = join(scratchDir, `body-${request.body.bytes}.lua`)
      writeFileSync(script, wrkBodyScript(request.body.bytes, request.body.contentType))
      args.push('-s', script)
    }
    args.push(request.url)
    const child = startProcess(binary, args, { cpu: request.cpu, stdout: 'pipe' })
    let out = ''
    child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
    // bounded: a wrk that does not end by itself is killed, and the run fails
    const code = await waitForExit(child, (request.seconds + 20) * 1000)
    if (code === undefined) throw new Error(`wrk did not finish: ${args.join(' ')}`)
    return parseWrkOutput(out)
  }
}
