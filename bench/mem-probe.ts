// `taskset -c 0 node [V8 flags] bench/mem-probe.ts`, PHASES=get256,post8,get256,get50 by default: switchyard-full
// in this process, nginx and wrk on CPU 1, 3 s per phase; after each phase prints RSS, process.memoryUsage() and
// V8's heap spaces (size/used MiB), to see which of them holds memory under which load and flags.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import v8 from 'node:v8'
import { buildGateway } from '../src/app.ts'
import { validateConfig } from '../src/config/validate.ts'
import { endChildrenOnExit, stopAll } from './children.ts'
import { UPLOAD_BYTES, UPLOAD_PATH } from './origin-answer.ts'
import { prepareLoadSide } from './setup.ts'
import { benchConfig } from './switchyard-config.ts'

endChildrenOnExit()
const dir = mkdtempSync(join(tmpdir(), 'switchyard-mp-'))
const MiB = 1024 * 1024
const status = (): string => readFileSync('/proc/self/status', 'utf8').match(/(VmHWM|VmRSS|RssAnon):\s+\d+/g)!.map((s) => s.replace(/\s+/, ' ')).join(' ')
const mem = (label: string): void => {
  const m = process.memoryUsage()
  const spaces = v8.getHeapSpaceStatistics().filter((s) => s.space_size > MiB).map((s) => `${s.space_name.replace('_space', '')}=${(s.space_size / MiB).toFixed(1)}/${(s.space_used_size / MiB).toFixed(1)}`).join(' ')
  process.stderr.write(`${label}: ${status()} | heapTotal ${(m.heapTotal / MiB).toFixed(1)} used ${(m.heapUsed / MiB).toFixed(1)} external ${(m.external / MiB).toFixed(1)} arrayBuffers ${(m.arrayBuffers / MiB).toFixed(1)} | ${spaces}\n`)
}
try {
  const { generator, origin } = await prepareLoadSide(dir, 1, () => {})
  const gw = buildGateway(validateConfig({ ...benchConfig('full', origin.urls), log: { level: 'info', destination: join(dir, 'access.log') } }))
  const url = await gw.listen({ host: '127.0.0.1', port: 0 })
  mem('idle')
  const phases = (process.env.PHASES ?? 'get256,post8,get256,get50').split(',')
  for (const p of phases) {
    const conns = Number(p.replace(/\D+/, ''))
    const cpu = process.cpuUsage()
    const load = await generator(p.startsWith('get') ? { url: `${url}/`, connections: conns, seconds: 3, cpu: 1 } : { url: `${url}${UPLOAD_PATH}`, connections: conns, seconds: 3, cpu: 1, body: { bytes: UPLOAD_BYTES, contentType: 'application/octet-stream' } })
    const used = process.cpuUsage(cpu)
    mem(`${p} ${load.requestsPerSecond.toFixed(0)}/s ${((used.user + used.system) / load.requests).toFixed(1)} µs/req`)
  }
  await new Promise((r) => setTimeout(r, 1500))
  mem('idle again')
  await gw.close()
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}
