// "What is sick, since when": one line per open breaker, pool off its primaries, target out of rotation and
// fallen-back split, most severe first. Empty means nothing needs an operator.
import { el } from '../dom.ts'
import { formatClock, formatSpan } from '../format.ts'
import { lookOf } from '../labels.ts'
import type { DashboardStatus } from '../wire.ts'
import { circuitKey, routeLabel, targetKey, tierKey, type ViewContext } from './context.ts'

interface Problem { severity: 0 | 1 | 2; text: string; since: number | undefined }

export class AttentionList {
  readonly root: HTMLElement
  readonly #ctx: ViewContext
  readonly #list = el('ul', { class: 'attention' })
  readonly #allClear = el('p', { class: 'all-clear tone-ok', text: '✓ Nothing needs attention: every breaker closed, every pool on its primaries, every target healthy.' })

  constructor (ctx: ViewContext) {
    this.#ctx = ctx
    // hidden until a status says so: a page waiting for its token (or its first snapshot) knows nothing yet, and an
    // all-clear then read as one while a pool was down
    this.#allClear.hidden = true
    this.root = el('div', {}, this.#allClear, this.#list)
  }

  update (status: DashboardStatus): void {
    const problems = findProblems(status, this.#ctx)
    problems.sort((a, b) => b.severity - a.severity)
    this.#allClear.hidden = problems.length > 0
    this.#list.hidden = problems.length === 0
    const now = this.#ctx.now()
    // rebuilt each time: a handful of short lines, and nothing in them takes focus
    this.#list.replaceChildren(...problems.map((p) => el('li', { class: `tone-${p.severity === 2 ? 'bad' : 'warn'}` },
      el('span', { 'aria-hidden': 'true', text: p.severity === 2 ? '✗ ' : '⚠ ' }),
      p.text,
      p.since === undefined ? null : el('span', { class: 'since', text: ` — since ${formatClock(p.since)} (${formatSpan(now - p.since)})` }))))
  }
}

function findProblems (status: DashboardStatus, ctx: ViewContext): Problem[] {
  const out: Problem[] = []
  if (status.readiness !== 'ready') out.push({ severity: 1, text: `gateway ${status.readiness}`, since: undefined })
  for (const [name, pool] of Object.entries(status.pools)) {
    if (pool.circuit !== 'closed') out.push({ severity: pool.circuit === 'open' ? 2 : 1, text: `pool ${name}: circuit ${pool.circuit}`, since: ctx.since(circuitKey(name)) })
    if (pool.activeTier === 'none') out.push({ severity: 2, text: `pool ${name}: no target available`, since: ctx.since(tierKey(name)) })
    else if (pool.activeTier === 'backup') out.push({ severity: 1, text: `pool ${name}: traffic on backups${pool.switchover === 'manual' ? ' (manual)' : ''}`, since: ctx.since(tierKey(name)) })
    for (const target of pool.targets) {
      if (target.state === 'healthy') continue
      const severity = target.state === 'unhealthy' || target.state === 'ejected' ? 2 : 1
      const check = target.lastCheck !== undefined && !target.lastCheck.ok ? `: ${target.lastCheck.error ?? target.lastCheck.status ?? 'check failed'}` : ''
      out.push({ severity, text: `${target.id} in ${name}: ${lookOf(target.state).label}${check}`, since: ctx.since(targetKey(name, target.id)) })
    }
  }
  for (const route of status.routes) {
    if (route.split?.fallbackActive === true) out.push({ severity: 1, text: `route ${routeLabel(route)}: reads fell back to ${route.pool}`, since: undefined })
    if (route.canary?.weightSource === 'rollback') out.push({ severity: 1, text: `route ${routeLabel(route)}: canary ${route.canary.pool} rolled back`, since: undefined })
  }
  return out
}
