// "What is sick, since when": one line per open breaker, pool off its primaries, target out of rotation and
// fallen-back split, most severe first. Empty means nothing needs an operator.
import { el, setAttr, setText, syncList } from '../dom.ts'
import { formatClock, formatSpan } from '../format.ts'
import { lookOf } from '../labels.ts'
import type { DashboardStatus } from '../wire.ts'
import { circuitKey, routeLabel, targetKey, tierKey, type ViewContext } from './context.ts'

/** `key`: what the line is about (a pool's circuit, a target), so the line stays while its words change. */
interface Problem { key: string; severity: 0 | 1 | 2; text: string; since: number | undefined }

/** One line, kept from update to update: only its text changes (it was all rebuilt twice a second). */
class ProblemLine {
  readonly root = el('li')
  readonly #icon = el('span', { 'aria-hidden': 'true' })
  readonly #text = el('span')
  readonly #since = el('span', { class: 'since' })
  readonly #now: () => number

  constructor (now: () => number) {
    this.#now = now
    this.root.append(this.#icon, this.#text, this.#since)
  }

  update (problem: Problem): void {
    setAttr(this.root, 'class', `tone-${problem.severity === 2 ? 'bad' : 'warn'}`)
    setText(this.#icon, problem.severity === 2 ? '✗ ' : '⚠ ')
    setText(this.#text, problem.text)
    const since = problem.since
    setText(this.#since, since === undefined ? '' : ` — since ${formatClock(since)} (${formatSpan(this.#now() - since)})`)
  }
}

export class AttentionList {
  readonly root: HTMLElement
  readonly #ctx: ViewContext
  readonly #list = el('ul', { class: 'attention' })
  readonly #lines = new Map<string, ProblemLine>()
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
    syncList(this.#list, this.#lines, problems, (p) => p.key, () => new ProblemLine(() => this.#ctx.now()))
  }
}

function findProblems (status: DashboardStatus, ctx: ViewContext): Problem[] {
  const out: Problem[] = []
  if (status.readiness !== 'ready') out.push({ key: 'readiness', severity: 1, text: `gateway ${status.readiness}`, since: undefined })
  for (const [name, pool] of Object.entries(status.pools)) {
    if (pool.circuit !== 'closed') out.push({ key: circuitKey(name), severity: pool.circuit === 'open' ? 2 : 1, text: `pool ${name}: circuit ${pool.circuit}`, since: ctx.since(circuitKey(name)) })
    if (pool.activeTier === 'none') out.push({ key: tierKey(name), severity: 2, text: `pool ${name}: no target available`, since: ctx.since(tierKey(name)) })
    else if (pool.activeTier === 'backup') out.push({ key: tierKey(name), severity: 1, text: `pool ${name}: traffic on backups${pool.switchover === 'manual' ? ' (manual)' : ''}`, since: ctx.since(tierKey(name)) })
    for (const target of pool.targets) {
      if (target.state === 'healthy') continue
      const severity = target.state === 'unhealthy' || target.state === 'ejected' ? 2 : 1
      const check = target.lastCheck !== undefined && !target.lastCheck.ok ? `: ${target.lastCheck.error ?? target.lastCheck.status ?? 'check failed'}` : ''
      out.push({ key: targetKey(name, target.id), severity, text: `${target.id} in ${name}: ${lookOf(target.state).label}${check}`, since: ctx.since(targetKey(name, target.id)) })
    }
  }
  for (const route of status.routes) {
    if (route.split?.fallbackActive === true) out.push({ key: `split:${route.id}`, severity: 1, text: `route ${routeLabel(route)}: reads fell back to ${route.pool}`, since: undefined })
    if (route.canary?.weightSource === 'rollback') out.push({ key: `rollback:${route.id}`, severity: 1, text: `route ${routeLabel(route)}: canary ${route.canary.pool} rolled back`, since: undefined })
  }
  return out
}
