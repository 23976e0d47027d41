// `npm run bench:mirror` (node bench/mirror.ts [--rounds N] [--seconds S]): the release issue's bar "a mirror pool
// that hangs for 10 s: client p99 within 10% of mirror off, statuses unchanged, the mirror's in-flight count never
// above maxConcurrent". Switchyard with the full pool config (bench/mirror-gateway.ts), mirror off and on,
// interleaved in rounds, the proxy on CPU 0; wrk, the nginx origin and the hanging mirror target on CPU 1.
// Prints a markdown table and exits 1 when a bar fails.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { endChildrenOnExit, startProcess, stopAll, stopProcess, waitForReady } from './children.ts'
import { MIRROR } from './mirror-config.ts'
import { median } from './report.ts'
import { prepareLoadSide } from './setup.ts'
import type { LoadResult } from './load.ts'

const here = dirname(fileURLToPath(import.meta.url))
const PROXY_CPU = 0
const LOAD_CPU = 1
const HANG_MS = 10_000
const P99_BAR = 1.10

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '15' }, connections: { type: 'string', default: '50,256' } } })
const rounds = Number(values.rounds)
const seconds = Number(values.seconds)
const connections = values.connections.split(',').map(Number)
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-mirror-'))
type Mode = 'off' | 'on'
const runs: { mode: Mode; conns: number; result: LoadResult; mirrorMaxInFlight: number; mirrorRequests: number }[] = []
try {
  const load = await prepareLoadSide(dir, LOAD_CPU, log)
  const hanging = startProcess(process.execPath, [join(here, 'hanging-origin.ts'), String(HANG_MS)], { cpu: LOAD_CPU })
  const mirrorUrl = await waitForReady(hanging, 'hanging-origin')
  const stats = async (): Promise<{ requests: number; maxInFlight: number }> => await (await fetch(`${mirrorUrl}/__stats`)).json() as { requests: number; maxInFlight: number }
  for (let round = 0; round < rounds; round++) {
    const order: Mode[] = round % 2 === 0 ? ['off', 'on'] : ['on', 'off']
    for (const mode of order) {
      const child = startProcess(process.execPath, [join(here, 'mirror-gateway.ts'), mode, mirrorUrl, ...load.origin.urls], { cpu: PROXY_CPU })
      const url = await waitForReady(child, `mirror-${mode}`)
      await load.generator({ url: `${url}/`, connections: 50, seconds: 3, cpu: LOAD_CPU })
      for (const conns of connections) {
        const before = await stats()
        const result = await load.generator({ url: `${url}/`, connections: conns, seconds, cpu: LOAD_CPU })
        const after = await stats()
        runs.push({ mode, conns, result, mirrorMaxInFlight: after.maxInFlight, mirrorRequests: after.requests - before.requests })
        log(`round ${round + 1} mirror ${mode} c=${conns}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, non-2xx ${result.non2xx}, socket errors ${result.socketErrors}, mirror max in flight ${after.maxInFlight}`)
      }
      await stopProcess(child)
    }
  }
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}

let failed = false
const lines = [
  `Mirror to a target that answers after ${HANG_MS / 1000} s: ${MIRROR.percent}% of requests, maxConcurrent ${MIRROR.maxConcurrent}; ${rounds} interleaved rounds of ${seconds} s per mode and concurrency, medians.`,
  '',
  '| conns | p99 ms, mirror off | p99 ms, mirror on | on / off | req/s off | req/s on | non-2xx + socket errors off / on | mirror requests started during the run (on) | mirror max in flight (on) |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
]
for (const conns of connections) {
  const of = (mode: Mode) => runs.filter((r) => r.mode === mode && r.conns === conns)
  const off = of('off')
  const on = of('on')
  const p99Off = median(off.map((r) => r.result.p99Ms))
  const p99On = median(on.map((r) => r.result.p99Ms))
  const errors = (rs: typeof runs): number => rs.reduce((n, r) => n + r.result.non2xx + r.result.socketErrors, 0)
  const maxInFlight = Math.max(...on.map((r) => r.mirrorMaxInFlight))
  const ratio = p99On / p99Off
  if (ratio > P99_BAR || errors(on) > errors(off) || maxInFlight > MIRROR.maxConcurrent || off.some((r) => r.mirrorRequests > 0)) failed = true
  lines.push(`| ${conns} | ${p99Off.toFixed(2)} | ${p99On.toFixed(2)} | ${ratio.toFixed(2)}× | ${median(off.map((r) => r.result.requestsPerSecond)).toFixed(0)} | ${median(on.map((r) => r.result.requestsPerSecond)).toFixed(0)} | ${errors(off)} / ${errors(on)} | ${on.reduce((n, r) => n + r.mirrorRequests, 0)} | ${maxInFlight} |`)
}
lines.push('', failed ? `FAIL: a bar (p99 on ≤ ${P99_BAR}× off, no more errors, in flight ≤ ${MIRROR.maxConcurrent}) is not met` : `PASS: p99 on ≤ ${P99_BAR}× off, no more errors, mirror in flight ≤ ${MIRROR.maxConcurrent}`)
process.stdout.write(`${lines.join('\n')}\n`)
process.exitCode = failed ? 1 : 0
