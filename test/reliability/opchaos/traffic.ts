// The client's view against the gateway's and the operator's: every request answered, by a target its pool had
// available, or refused only when nothing could serve it; drained, disabled and removed targets take no new
// request, the canary at weight 0 none either, and no probe reaches a target no pool checks.
import type { LogRecord } from '../../helpers/gateway.ts'
import type { CaseContext } from './context.ts'
import type { ClientRecord } from './load.ts'
import { CANDIDATES, poolOf, type PoolName } from './model.ts'

/** No internal error, in an access-log line or anywhere else at error level (events log at error level too). */
export function checkLogs (ctx: CaseContext): void {
  for (const line of ctx.gw.logs) {
    if (line.msg === 'request' ? line.error === 'internal_error' : line.level >= 50 && line.event === undefined) {
      ctx.fail(`the gateway logged an internal error: ${JSON.stringify(line).slice(0, 600)}`)
    }
  }
}

const ROUTE_POOLS: Record<string, readonly string[]> = { shop: ['web', 'next'], api: ['api'], extra: ['extra'] }

/**
 * `shutdownAt`: when a graceful shutdown began. A request sent from then on may find the listener closed (refused,
 * or reset with the idle connection once the grace is over); a request the gateway reads is served (with
 * Connection: close), never refused; one sent before it is served as usual: shutting down cuts no request in flight.
 */
export function checkTraffic (ctx: CaseContext, records: readonly ClientRecord[], shutdownAt = Infinity): void {
  const logs = new Map<string, LogRecord>()
  for (const l of ctx.gw.accessLogs()) logs.set(String(l.requestId), l)
  const t0 = ctx.journal.t0
  for (const r of records) {
    const log = logs.get(r.id)
    const what = `${r.method} /${r.route} ${r.id} (+${r.startedAt - t0}..${r.endedAt - t0}ms)`
    if (r.startedAt >= shutdownAt && (r.error === 'ECONNREFUSED' || r.error === 'ECONNRESET')) continue
    if (r.error !== undefined) ctx.fail(`${what}: no answer (${r.error})`)
    if (log === undefined) ctx.fail(`${what}: no access-log line`)
    if (r.status! >= 200 && r.status! < 300 && r.upstream !== undefined) {
      const pool = poolOf(r.upstream)
      if (!ROUTE_POOLS[r.route]!.includes(pool) || log.pool !== pool) ctx.fail(`${what}: answered by ${r.upstream} of pool ${pool} (logged pool ${String(log.pool)})`)
      const states = ctx.recorder.during(pool, r.startedAt, r.endedAt)
      const retried = Number(log.attempts ?? 1) > 1
      // a retry after every primary failed may go to the standby
      if (!states.some((s) => s.available.includes(r.upstream!) || (retried && s.standby.includes(r.upstream!)))) {
        ctx.fail(`${what}: answered by ${r.upstream}, which its pool never had available meanwhile: ${JSON.stringify(states)}`)
      }
      continue
    }
    justifyFailure(ctx, r, log, what)
  }
}

/**
 * A request that failed is allowed only when nothing could serve it: a route the config lacked; a breaker not
 * closed; a pool whose available targets were all down, or more of them down than the retry policy has attempts;
 * a POST (sent once) in flight at a target that was killed. Anything else is a bug.
 */
function justifyFailure (ctx: CaseContext, r: ClientRecord, log: LogRecord, what: string): void {
  const code = r.errorCode ?? ''
  const { journal } = ctx
  if (code === 'no_route') {
    if (r.route === 'extra' && journal.lackedExtra(r.startedAt, r.endedAt)) return
    ctx.fail(`${what}: 404 no_route`)
  }
  const pool = String(log.pool ?? '')
  const states = ctx.recorder.during(pool, r.startedAt, r.endedAt)
  if (code === 'circuit_open' && states.some((s) => s.circuit !== 'closed')) return
  if (code === 'no_available_target' || code === 'upstream_unreachable' || code === 'upstream_timeout') {
    const nothing = states.some((s) => {
      const live = s.available.filter((u) => journal.liveThroughout(u, r.startedAt, r.endedAt))
      return live.length === 0 || s.available.length - live.length >= s.attempts
    })
    if (nothing) return
    const killed = CANDIDATES[pool as PoolName]?.some((u) => !journal.liveThroughout(u, r.startedAt - 100, r.endedAt)) ?? false
    if (r.method === 'POST' && code === 'upstream_unreachable' && killed) return
  }
  ctx.fail(`${what}: ${r.status} ${code} although pool ${pool} had a live available target all along: ${JSON.stringify(states)}`)
}

export function checkPeriods (ctx: CaseContext, records: readonly ClientRecord[]): void {
  const started = new Map(records.map((r) => [r.id, r.startedAt]))
  const t0 = ctx.journal.t0
  for (const kind of ['strict', 'canary'] as const) {
    for (const p of ctx.journal.closed[kind]) {
      const arrivals = ctx.ups.get(p.upstream)!.arrivals.slice(p.arrivalsAt).filter((a) => a.at < p.until)
      // requests sent after the action's answer: admitted after it took effect
      const fresh = arrivals.filter((a) => (started.get(a.id) ?? 0) > p.from)
      const when = `+${p.from - t0}..${p.until === Infinity ? 'end' : `${p.until - t0}ms`}`
      if (fresh.length > 0) ctx.fail(`${p.upstream} (${kind === 'strict' ? 'drained, disabled or removed' : 'canary at weight 0'} ${when}) got ${fresh.length} request(s) sent after that: ${fresh.map((a) => a.id).join(' ')}`)
      // retries of requests admitted before count too: at most what was in flight then
      if (kind === 'strict' && arrivals.length > p.bound) ctx.fail(`${p.upstream} (drained, disabled or removed ${when}) got ${arrivals.length} requests, but only ${p.bound} were in flight`)
    }
  }
  for (const p of ctx.journal.closed.probes) {
    const late = ctx.ups.get(p.upstream)!.probes.slice(p.probesAt).filter((at) => at > p.from + 100 && at < p.until)
    if (late.length > 0) ctx.fail(`${p.upstream} got ${late.length} health probe(s) while no pool checks it (+${p.from - t0}ms on)`)
  }
}
