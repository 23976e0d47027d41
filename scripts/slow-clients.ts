// npm run stress:slow [-- --attackers N --rounds R --phase-s S --peer haproxy|nginx] (not in CI; ~2 min): a normal client's latency
// with and without N (default 2,000) slow and abusive connections: slowloris (headers trickled), idle, slow
// body and stalled readers, in the shares below. Rounds are interleaved (baseline, attack, baseline, attack, …)
// so the machine's own noise falls on both sides. Bars, each failing the run (exit 1): the normal client's p99
// under attack ≤ 2× its p99 without, no error for it, and every attacking connection closed by the gateway at
// its configured timeout (not before it, not later than one check interval plus slack after it).
//
// Processes: the gateway (scripts/stress/gateway-child.ts; fds and RSS from /proc/<pid>), the attackers
// (scripts/stress/attackers.ts), and this one: the normal client and the upstream.
// Each phase also reports the kernel's TCP memory and its retransmissions (--trace FILE writes when each request
// started and how long it took). Every process here shares one kernel: a stalled reader's bytes sit in the
// upstream's send buffer, the gateway's two sockets and the attacker's receive buffer at once, and past tcp_mem's
// pressure threshold the kernel drops segments on every connection (bench/hardening-results.md, tenth pass).
// --peer runs HAProxy or nginx from Debian in the gateway's place, set up alike (scripts/stress/peer-process.ts): the
// same mix against a trusted proxy tells the gateway's share of a failure from the machine's.
import { execSync, fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { setPriority } from 'node:os'
import { Agent, request } from 'node:http'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { loadAverage } from '../bench/proc.ts'
import { KINDS, type Kind, type KindReport, type StartMessage } from './stress/attackers.ts'
import { startGatewayChild, sumSamples } from './stress/gateway-process.ts'
import { PEERS, startPeer, type Peer, type StressProxy } from './stress/peer-process.ts'
import { DRIVER_CPU, pin } from './stress/pin.ts'
import { acceptWaits, machineNow, ms, percentile, sleep, table, tcpCounters, tcpMemory } from './stress/stats.ts'
import { StressUpstream } from './stress/upstream.ts'

const { values } = parseArgs({
  options: {
    attackers: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '2' },
    'phase-s': { type: 'string', default: '20' },
    connections: { type: 'string', default: '32' },
    rate: { type: 'string', default: '400' },
    /** e.g. slowloris=0.9,idle=0.1 (kinds left out get none) */
    // the pool's connections.maxPerTarget, by default the gateway's (stalled readers each hold one: bench/hardening-results.md)
    'max-per-target': { type: 'string', default: '1024' },
    shares: { type: 'string', default: 'slowloris=0.7,idle=0.1,slowBody=0.1,slowReader=0.1' },
    /** writes every normal request's [start, latency] in ms by phase to this JSON file; starts on the machine's monotonic clock, as a --cpu-prof profile's timestamps are */
    trace: { type: 'string' },
    /** haproxy or nginx in the gateway's place */
    peer: { type: 'string' },
  },
})
if (values.peer !== undefined && !(PEERS as readonly string[]).includes(values.peer)) throw new Error(`--peer: one of ${PEERS.join(', ')}`)
const PEER = values.peer as Peer | undefined
const ATTACKERS = Number(values.attackers)
const ROUNDS = Number(values.rounds)
const PHASE_MS = Number(values['phase-s']) * 1000
const CONNECTIONS = Number(values.connections)
const RATE = Number(values.rate)

const MAX_PER_TARGET = Number(values['max-per-target'])
const HEADERS_TIMEOUT_MS = 5000
const REQUEST_TIMEOUT_MS = 10_000
const CLIENT_IDLE_MS = 5000
// as the gateway sets it (src/app.ts): Node checks headersTimeout/requestTimeout only this often
const CHECK_INTERVAL_MS = Math.max(50, Math.min(30000, Math.floor(Math.min(HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) / 100)))
// a shared, loaded machine: a close may come this much after its deadline and still count as on time
const SLACK_MS = 1000
const TRICKLE_MS = 2000
const READER_BYTES = 256 * 2 ** 20
const SHARES: Record<Kind, number> = { slowloris: 0, idle: 0, slowBody: 0, slowReader: 0 }
for (const part of values.shares.split(',')) {
  const [kind, share] = part.split('=')
  if (!(KINDS as readonly string[]).includes(kind!)) throw new Error(`--shares: unknown kind ${kind}`)
  SHARES[kind as Kind] = Number(share)
}
/** When each kind must be closed: [earliest, latest] ms after it connected. */
const WINDOWS: Record<Kind, [number, number]> = {
  slowloris: [HEADERS_TIMEOUT_MS, HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS],
  idle: [HEADERS_TIMEOUT_MS, HEADERS_TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS],
  slowBody: [REQUEST_TIMEOUT_MS, REQUEST_TIMEOUT_MS + CHECK_INTERVAL_MS + SLACK_MS],
  // the stall timer starts once the gateway's writes back up, after the socket buffers between have filled
  slowReader: [CLIENT_IDLE_MS, CLIENT_IDLE_MS + 2 * SLACK_MS],
}
const TIMEOUT_NAMES: Record<Kind, string> = { slowloris: 'headersTimeoutMs', idle: 'headersTimeoutMs', slowBody: 'requestTimeoutMs', slowReader: 'timeouts.clientIdleMs' }

// each side of every attacking connection is an fd: here (attackers' process) and in the gateway
const fdLimit = Number(execSync('ulimit -n', { shell: '/bin/sh', encoding: 'utf8' }).trim())
if (Number.isFinite(fdLimit) && fdLimit < ATTACKERS + 1000) {
  process.stderr.write(`ulimit -n is ${fdLimit}: ${ATTACKERS} attackers need ~${ATTACKERS + 1000} fds per process; raise it (ulimit -n 65536) and run again\n`)
  process.exit(2)
}

const upstream = await StressUpstream.start(machineNow)
const gateway = PEER !== undefined ? undefined : await startGatewayChild({
  log: { level: 'warn' },
  server: { host: '127.0.0.1', port: 0, headersTimeoutMs: HEADERS_TIMEOUT_MS, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  admin: { host: '127.0.0.1', port: 0 },
  pools: { app: { targets: [upstream.url], timeouts: { clientIdleMs: CLIENT_IDLE_MS }, connections: { maxPerTarget: MAX_PER_TARGET } } },
  routes: [{ path: '/', pool: 'app' }],
})
const peer = PEER === undefined ? undefined : await startPeer(PEER, upstream.url, { headersMs: HEADERS_TIMEOUT_MS, requestMs: REQUEST_TIMEOUT_MS, idleMs: CLIENT_IDLE_MS }, (line) => process.stderr.write(`${line}\n`))
/** The proxy under test: the gateway, or the peer in its place. */
const gw: StressProxy = gateway ?? peer!
const attackers = fork(new URL('./stress/attackers.ts', import.meta.url), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
process.once('exit', () => attackers.kill('SIGKILL'))
pin(process.pid, DRIVER_CPU)
pin(attackers.pid!, DRIVER_CPU)
// The attackers share CPU 1 with the normal client and the upstream, whose latency is the measurement: at the
// lowest priority they still send every byte and reconnect (they need little CPU), but never delay a
// measured request by holding the CPU it needs. What the gateway pays for them is unchanged.
setPriority(attackers.pid!, 19)

/** The kernel's TCP counters a phase reports: retransmission timeouts, segments dropped on a full receive queue, all retransmitted segments. */
const KERNEL_COUNTERS = ['TCPTimeouts', 'TCPRcvQDrop', 'RetransSegs'] as const

interface Phase { kind: 'baseline' | 'attack'; latencies: number[]; /** the normal client's new connections: established (machine clock) → accepted by the gateway, ms */ acceptWaits: number[]; trace: [startedMs: number, latencyMs: number][]; tcpMemMaxBytes: number; kernel: Record<string, number>; errors: number; statuses: Record<string, number>; gatewayFdsMax: number; gatewayRssMaxMiB: number; clientLoopP99Ms: number; clientLoopMaxMs: number; gatewayLoop: { p99Ms: number; maxMs: number } }

/** The normal client: CONNECTIONS keep-alive connections sending GETs at RATE req/s in all, for durationMs. */
async function normalClient (phase: Phase, durationMs: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS })
  const gapMs = (CONNECTIONS * 1000) / RATE
  const until = performance.now() + durationMs
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  await gw.loopDelay() // from here on
  await gw.acceptedAt?.()
  // [client port, machine clock ms] of each new connection once established: queued for the gateway to accept
  const established: [number, number][] = []
  const kernelBefore = tcpCounters(KERNEL_COUNTERS)
  const sampler = setInterval(() => {
    phase.gatewayFdsMax = Math.max(phase.gatewayFdsMax, gw.fds())
    phase.gatewayRssMaxMiB = Math.max(phase.gatewayRssMaxMiB, gw.rssMiB())
    phase.tcpMemMaxBytes = Math.max(phase.tcpMemMaxBytes, tcpMemory().bytes)
  }, 250)
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, c) => {
    // spread the connections over one gap so the requests are evenly paced
    await sleep((gapMs * c) / CONNECTIONS)
    let next = performance.now()
    while (performance.now() < until) {
      const started = performance.now()
      const status = await new Promise<string>((resolve) => {
        request({ host: '127.0.0.1', port: gw.port, path: `/n/${c}`, agent }, (res) => {
          res.resume()
          res.once('end', () => resolve(String(res.statusCode)))
          res.once('error', () => resolve('network'))
        }).once('error', () => resolve('network')).once('socket', (socket) => {
          if (socket.connecting) socket.once('connect', () => established.push([socket.localPort ?? 0, machineNow()]))
        }).end()
      })
      const latency = performance.now() - started
      phase.trace.push([Math.round(machineNow() - latency), Math.round(latency * 10) / 10])
      if (status === '200') phase.latencies.push(latency)
      else phase.errors++
      phase.statuses[status] = (phase.statuses[status] ?? 0) + 1
      next += gapMs
      await sleep(Math.max(0, next - performance.now()))
    }
  }))
  clearInterval(sampler)
  const kernelAfter = tcpCounters(KERNEL_COUNTERS)
  for (const name of KERNEL_COUNTERS) phase.kernel[name] = kernelAfter[name]! - kernelBefore[name]!
  loop.disable()
  phase.clientLoopP99Ms = loop.percentile(99) / 1e6
  phase.clientLoopMaxMs = loop.max / 1e6
  phase.gatewayLoop = await gw.loopDelay()
  const accepted = await gw.acceptedAt?.()
  if (accepted !== undefined) phase.acceptWaits = acceptWaits(established, accepted)
  agent.destroy()
}

function ask<T> (message: object): Promise<T> {
  return new Promise((resolve) => {
    attackers.once('message', (m: T) => resolve(m))
    attackers.send(message)
  })
}

const counts = Object.fromEntries(KINDS.map((k) => [k, Math.round(ATTACKERS * SHARES[k])])) as Record<Kind, number>
const reports: Record<Kind, KindReport>[] = []
const attackStops: number[] = []
const phases: Phase[] = []
const newPhase = (kind: Phase['kind']): Phase => ({ kind, latencies: [], acceptWaits: [], trace: [], tcpMemMaxBytes: 0, kernel: {}, errors: 0, statuses: {}, gatewayFdsMax: 0, gatewayRssMaxMiB: 0, clientLoopP99Ms: 0, clientLoopMaxMs: 0, gatewayLoop: { p99Ms: 0, maxMs: 0 } })

// warm-up: the gateway's first requests compile its hot path; not measured
await normalClient(newPhase('baseline'), 2000)
const baseFds = gw.fds()
process.stderr.write(`${PEER ?? 'gateway'} pid ${gw.pid}, ${baseFds} fds at rest; load average ${loadAverage()}\n`)

for (let round = 0; round < ROUNDS; round++) {
  const baseline = newPhase('baseline')
  await normalClient(baseline, PHASE_MS)
  phases.push(baseline)
  process.stderr.write(`round ${round + 1} baseline: p99 ${ms(percentile(baseline.latencies, 99))} ms, ${baseline.errors} errors\n`)

  const attack = newPhase('attack')
  const start: StartMessage = { type: 'start', port: gw.port, counts, trickleMs: TRICKLE_MS, readerBytes: READER_BYTES, readerCheckMs: CLIENT_IDLE_MS + SLACK_MS + 2000 }
  const ready = await ask<{ open: number }>(start)
  process.stderr.write(`round ${round + 1}: ${ready.open} attacking connections open, gateway holds ${gw.fds()} fds\n`)
  await normalClient(attack, PHASE_MS)
  phases.push(attack)
  attackStops.push(machineNow())
  reports.push((await ask<{ report: Record<Kind, KindReport> }>({ type: 'stop' })).report)
  process.stderr.write(`round ${round + 1} attack: p99 ${ms(percentile(attack.latencies, 99))} ms, ${attack.errors} errors\n`)
  // let the gateway see the attackers go before the next baseline
  const until = performance.now() + 10_000
  while (gw.fds() > baseFds + 10 && performance.now() < until) await sleep(200)
}
attackers.disconnect()
if (values.trace !== undefined) writeFileSync(values.trace, JSON.stringify(phases.map((p) => ({ kind: p.kind, trace: p.trace }))))

// -- the normal client
const pooled = (kind: Phase['kind']): number[] => phases.filter((p) => p.kind === kind).flatMap((p) => p.latencies)
const p99Base = percentile(pooled('baseline'), 99)
const p99Attack = percentile(pooled('attack'), 99)
const ratio = p99Attack / p99Base
const errors = phases.reduce((n, p) => n + p.errors, 0)

// -- the attackers: lifetimes by kind; slow readers' from the upstream's record of when the gateway cut them
const closes = {} as Record<Kind, { opened: number; closed: number; lifetimes: number[]; early: number; late: number; overdue: number; statuses: Record<string, number>; notCut: number; connectErrors: number }>
for (const k of KINDS) {
  const [earliest, latest] = WINDOWS[k]
  const c = { opened: 0, closed: 0, lifetimes: [] as number[], early: 0, late: 0, overdue: 0, statuses: {} as Record<string, number>, notCut: 0, connectErrors: 0 }
  reports.forEach((r, i) => {
    const kr = r[k]
    c.opened += kr.opened
    c.notCut += kr.notCut
    c.connectErrors += kr.connectErrors
    for (const [s, n] of Object.entries(kr.statuses)) c.statuses[s] = (c.statuses[s] ?? 0) + n
    if (k === 'slowReader') {
      for (const [id, connectedAt] of Object.entries(kr.readerConnectedAt)) {
        const cut = upstream.closed.get(id)
        // a close after the phase's stop is the attackers leaving (they destroy every open reader), not a cut
        if (cut !== undefined && cut <= attackStops[i]!) c.lifetimes.push(cut - connectedAt)
        else if (attackStops[i]! - connectedAt > latest) c.overdue++
      }
    } else {
      c.lifetimes.push(...kr.lifetimesMs)
      c.overdue += kr.agesAtStopMs.filter((age) => age > latest).length
    }
  })
  c.closed = c.lifetimes.length
  // the attackers' own event loop may see 'connect' late, which shortens a lifetime: the same slack both ways
  c.early = c.lifetimes.filter((l) => l < earliest - SLACK_MS).length
  c.late = c.lifetimes.filter((l) => l > latest).length
  closes[k] = c
}
const used = KINDS.filter((k) => counts[k] > 0)
const closesOk = used.every((k) => closes[k].closed > 0 && closes[k].early === 0 && closes[k].late === 0 && closes[k].overdue === 0 && closes[k].notCut === 0)

const verdict = (ok: boolean): string => ok ? 'pass' : '**FAIL**'
// only the gateway reports when it accepted a connection
const accepts = (p: Phase): string => gw.acceptedAt === undefined ? '–' : `${p.acceptWaits.length}; ${ms(percentile(p.acceptWaits, 50))} / ${ms(percentile(p.acceptWaits, 100))}`
// a peer has no event loop to report
const loopMs = (n: number): string => Number.isNaN(n) ? '–' : ms(n)
process.stdout.write(`\n### Slow clients${PEER !== undefined ? ` against ${PEER}` : ''}: ${ATTACKERS} attacking connections (${used.map((k) => `${counts[k]} ${k}`).join(', ')}), ${ROUNDS} interleaved rounds of ${PHASE_MS / 1000} s\n\n`)
process.stdout.write(`${peer !== undefined ? `In the gateway's place: ${peer.describe}. The gateway's settings, for comparison: ` : 'Gateway: '}headersTimeoutMs ${HEADERS_TIMEOUT_MS}, requestTimeoutMs ${REQUEST_TIMEOUT_MS} (checked every ${CHECK_INTERVAL_MS} ms), timeouts.clientIdleMs ${CLIENT_IDLE_MS}; pool connections.maxPerTarget ${MAX_PER_TARGET}. Normal client: ${CONNECTIONS} keep-alive connections, ${RATE} GET/s in all. Attackers trickle one byte every ${TRICKLE_MS} ms and reconnect when closed; slow readers ask for ${READER_BYTES / 2 ** 20} MiB and read nothing. ${gw.pinned ? `${PEER ?? 'The gateway'} had CPU 0 to itself; the normal client and upstream shared CPU 1 with the attackers, who ran at the lowest priority (nice 19)` : 'Nothing pinned (no taskset or one CPU)'}. Load average at the end: ${loadAverage()}.\n\n`)
const { pressureBytes } = tcpMemory()
const pressureMiB = pressureBytes > 0 ? (pressureBytes / 2 ** 20).toFixed(0) : 'unknown'
process.stdout.write(table(['phase', 'requests', 'errors (by status)', 'p50 ms', 'p99 ms', 'max ms', 'normal client\'s new connections: how many; wait to be accepted p50 / max ms', 'gateway fds max', 'gateway RSS max MiB', 'event-loop delay p99 / max ms (sampled every 10 ms: 10 is on time): gateway; normal client and upstream', `kernel TCP memory max MiB, all processes (tcp_mem pressure at ${pressureMiB})`, 'kernel: RTO timeouts / receive-queue drops / segments retransmitted'], phases.map((p, i) => [
  `${Math.floor(i / 2) + 1} ${p.kind}`, p.latencies.length + p.errors, p.errors === 0 ? '0' : `${p.errors} (${Object.entries(p.statuses).filter(([s]) => s !== '200').map(([s, n]) => `${s}: ${n}`).join(', ')})`, ms(percentile(p.latencies, 50)), ms(percentile(p.latencies, 99)), ms(percentile(p.latencies, 100)), accepts(p), p.gatewayFdsMax, p.gatewayRssMaxMiB.toFixed(0), `${loopMs(p.gatewayLoop.p99Ms)} / ${loopMs(p.gatewayLoop.maxMs)}; ${ms(p.clientLoopP99Ms)} / ${ms(p.clientLoopMaxMs)}`,
  (p.tcpMemMaxBytes / 2 ** 20).toFixed(0), KERNEL_COUNTERS.map((name) => p.kernel[name]).join(' / '),
])))
process.stdout.write('\nThe kernel columns are the whole machine\'s: the upstream\'s send buffers and the attackers\' receive buffers count in them beside the gateway\'s own, which on separate machines they would not. Past tcp_mem\'s pressure threshold Linux drops arriving segments on every connection, the normal client\'s included, and each drop waits for a retransmission (≥ 200 ms). The normal client opens its connections afresh in every phase: the wait to be accepted runs from when the client saw a connection established (queued in the kernel) to when the gateway accepted it; Node accepts one connection per listener per event-loop iteration (libuv since 2022, libuv/libuv#3696), so a queue that formed while each iteration is long drains slowly.\n\n')
process.stdout.write(table(['normal client', 'value', 'bar', 'verdict'], [
  ['p99 without attackers (rounds pooled) ms', ms(p99Base), '', ''],
  ['p99 with attackers (rounds pooled) ms', ms(p99Attack), '', ''],
  ['ratio', `${ratio.toFixed(2)}×`, '≤ 2×', verdict(ratio <= 2)],
  ['errors (non-200 or network)', errors, '0', verdict(errors === 0)],
]))
process.stdout.write('\n')
process.stdout.write(table(['attackers', 'opened', 'closed by the gateway', 'closed after connect p50 / p99 / max ms', 'window ms (timeout)', 'early / late / overdue', 'gateway answered', 'verdict'], used.map((k) => {
  const c = closes[k]
  const [earliest, latest] = WINDOWS[k]
  return [k, c.opened, c.closed, `${ms(percentile(c.lifetimes, 50))} / ${ms(percentile(c.lifetimes, 99))} / ${ms(percentile(c.lifetimes, 100))}`, `${earliest}–${latest} (${TIMEOUT_NAMES[k]})`, `${c.early} / ${c.late} / ${c.overdue}${c.notCut > 0 ? `, ${c.notCut} not cut` : ''}`, Object.entries(c.statuses).map(([s, n]) => `${s}: ${n}`).join(', '), verdict(c.closed > 0 && c.early === 0 && c.late === 0 && c.overdue === 0 && c.notCut === 0)]
})))
process.stdout.write('\n"overdue": still open at the end of a phase although older than its window\'s end. Slow readers\' close times are when the upstream saw the gateway cut their response (a paused socket cannot see its own close).\n')

// why the normal client failed, when it did: the breaker's own counts and the attempts' outcomes
if (gateway !== undefined) {
  const breaker = await gateway.breakerEvents()
  const metricsText = await gateway.metrics()
  const outcomes = ['success', 'client-abort', 'busy', 'status', 'connect-failure', 'reset', 'timeout', 'bad-response'].map((o) => `${o} ${sumSamples(metricsText, 'switchyard_upstream_attempts_total', `outcome="${o}"`)}`)
  process.stdout.write(`\nGateway breaker events over the whole run: ${Object.entries(breaker).map(([e, n]) => `${e} ${n}`).join(', ')}. Upstream attempts by outcome: ${outcomes.join(', ')}.\n`)
}

await gw.stop()
await upstream.close()
const failed = ratio > 2 || errors > 0 || !closesOk
process.stdout.write(failed ? '\nSLOW CLIENTS FAILED\n' : '\nslow clients passed\n')
process.exit(failed ? 1 : 0)
