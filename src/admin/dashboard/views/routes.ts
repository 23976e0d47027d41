// Every route with its pool, and what a release does to it: a canary's weight (with the control to change it)
// and its rollbacks, or a read/write split's fallback state.
import { el, setAttr, setHidden, setText, syncList } from '../dom.ts'
import { formatClock } from '../format.ts'
import { CIRCUIT_LOOK, TIER_LOOK } from '../labels.ts'
import type { DashboardPool, DashboardRoute } from '../wire.ts'
import { routeKey, routeLabel, type ViewContext } from './context.ts'

export interface RouteItem { route: DashboardRoute; pool: DashboardPool | undefined }

export class RoutesTable {
  readonly root: HTMLElement
  readonly #body = el('tbody')
  readonly #rows = new Map<string, RouteRow>()
  readonly #ctx: ViewContext

  constructor (ctx: ViewContext) {
    this.#ctx = ctx
    this.root = el('table', { class: 'routes' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Route' }), el('th', { scope: 'col', text: 'Pool' }), el('th', { scope: 'col', text: 'Release' }))),
      this.#body)
  }

  update (items: RouteItem[]): void {
    syncList(this.#body, this.#rows, items, (i) => routeKey(i.route), (i) => new RouteRow(i, this.#ctx))
  }
}

class RouteRow {
  readonly root: HTMLTableRowElement
  readonly #ctx: ViewContext
  readonly #name = el('span', { class: 'route-name' })
  readonly #match = el('span', { class: 'route-match' })
  readonly #pool = el('span')
  readonly #poolState = el('span', { class: 'route-pool-state' })
  readonly #release = el('td', { 'data-label': 'Release' })
  /** Made for the first canary the route has: 5,000 routes with a control each were 40,000 elements, mostly hidden. */
  #canary: CanaryControl | undefined
  readonly #split = el('div', { class: 'split' })
  readonly #rollbacks = el('ul', { class: 'rollbacks' })
  readonly #none = el('span', { class: 'muted', text: '–' })
  /**
   * What the row shows now: the same route object (a route whose state does not move keeps it), pool text and, for a
   * canary, whether its control may act, are skipped.
   */
  #shown: { route: DashboardRoute; poolState: string; actions: string } | undefined

  constructor (item: RouteItem, ctx: ViewContext) {
    this.#ctx = ctx
    this.#release.append(this.#none, this.#rollbacks, this.#split)
    this.root = el('tr', {},
      el('td', { 'data-label': 'Route' }, this.#name, this.#match),
      el('td', { 'data-label': 'Pool' }, this.#pool, this.#poolState),
      this.#release)
    this.update(item)
  }

  update ({ route, pool }: RouteItem): void {
    const poolState = pool === undefined ? ' · unknown pool' : ` · ${describePool(pool)}`
    const { actions } = this.#ctx
    const actionState = route.canary === undefined ? '' : `${actions.disabledReason() ?? ''}|${actions.busy() ?? ''}`
    const shown = this.#shown
    if (shown !== undefined && shown.route === route && shown.poolState === poolState && shown.actions === actionState) return
    this.#shown = { route, poolState, actions: actionState }
    const label = routeLabel(route)
    setAttr(this.root, 'data-route', label)
    setText(this.#name, route.name ?? '')
    setHidden(this.#name, route.name === undefined)
    setText(this.#match, `${route.host ?? '*'}${route.path}${route.methods === undefined ? '' : ` ${route.methods.join(' ')}`}${describeHeaders(route.headers)}`)
    setText(this.#pool, route.pool)
    setText(this.#poolState, poolState)

    const canary = route.canary
    setHidden(this.#none, canary !== undefined || route.split !== undefined)
    if (canary !== undefined && this.#canary === undefined) {
      this.#canary = new CanaryControl(this.#ctx)
      this.#none.after(this.#canary.root)
    }
    if (this.#canary !== undefined) setHidden(this.#canary.root, canary === undefined)
    // the name the admin API looks the route up by: its name, else its id (the path alone names no route)
    if (canary !== undefined) this.#canary!.update(label, canary)
    const rollbacks = canary?.rollbacks ?? []
    setHidden(this.#rollbacks, rollbacks.length === 0)
    this.#rollbacks.replaceChildren(...rollbacks.slice(-3).reverse().map((r) =>
      el('li', { text: `⚠ rolled back at ${formatClock(r.at)} from ${r.previousWeight}%: ${r.errors}/${r.requests} failed (${r.errorRatePercent.toFixed(1)}%)` })))

    const split = route.split
    setHidden(this.#split, split === undefined)
    if (split !== undefined) {
      setText(this.#split, split.fallbackActive
        ? `⚠ reads fell back to ${route.pool}${split.fallbackReason === undefined ? '' : `: ${split.fallbackReason}`}`
        : `✓ reads → ${split.readPool}, writes → ${route.pool}`)
      setAttr(this.#split, 'class', split.fallbackActive ? 'split tone-warn' : 'split')
    }
  }
}

/** Routes that differ only by the headers they match must not look the same. */
function describeHeaders (headers: Record<string, string> | undefined): string {
  return headers === undefined ? '' : ` ${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join(', ')}`
}

function describePool (pool: DashboardPool): string {
  const parts: string[] = []
  if (pool.circuit !== 'closed') parts.push(CIRCUIT_LOOK[pool.circuit].label)
  parts.push(TIER_LOOK[pool.activeTier].label)
  return parts.join(', ')
}

/** A canary's weight: slider and number in step, applied with the Set button (never while dragging). */
class CanaryControl {
  readonly root: HTMLElement
  readonly #ctx: ViewContext
  readonly #summary = el('span', { class: 'canary-summary' })
  readonly #range = el('input', { type: 'range', min: '0', max: '100', step: '1' })
  readonly #number = el('input', { type: 'number', min: '0', max: '100', step: '0.01', inputmode: 'decimal' })
  readonly #apply = el('button', { type: 'button', class: 'small', text: 'Set' })
  #route = ''
  /** The operator moved the control and has not applied it: snapshots must not move it back. */
  #editing = false

  constructor (ctx: ViewContext) {
    this.#ctx = ctx
    this.#range.addEventListener('input', () => { this.#editing = true; this.#number.value = this.#range.value })
    this.#number.addEventListener('input', () => { this.#editing = true; this.#range.value = this.#number.value })
    this.#apply.addEventListener('click', () => {
      const weight = Number(this.#number.value)
      if (!Number.isFinite(weight) || weight < 0 || weight > 100) return
      this.#editing = false
      ctx.actions.setCanaryWeight(this.#route, weight)
    })
    this.root = el('div', { class: 'canary' },
      this.#summary,
      el('label', { class: 'canary-set' }, el('span', { class: 'visually-hidden', text: 'canary weight in percent' }), this.#range),
      this.#number, el('span', { text: '%' }), this.#apply)
  }

  update (route: string, canary: { pool: string; weight: number; weightSource?: string }): void {
    this.#route = route
    const source = canary.weightSource === undefined ? '' : ` (set by ${canary.weightSource})`
    setText(this.#summary, `canary ${canary.pool}: ${canary.weight}%${source}`)
    if (!this.#editing) {
      this.#range.value = String(canary.weight)
      this.#number.value = String(canary.weight)
    }
    const reason = this.#ctx.actions.disabledReason()
    const disabled = reason !== undefined || this.#ctx.actions.busy() !== undefined
    this.#range.disabled = this.#number.disabled = this.#apply.disabled = disabled
    setAttr(this.#apply, 'title', reason)
    setAttr(this.#apply, 'aria-label', `set the canary weight of route ${route}`)
    setAttr(this.#number, 'aria-label', `canary weight of route ${route}, percent`)
  }
}
