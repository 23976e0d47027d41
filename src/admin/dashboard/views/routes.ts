// Every route with its pool, and what a release does to it: a canary's weight (with the control to change it)
// and its rollbacks, or a read/write split's fallback state.
import { el, isHeld, setAttr, setHidden, setText, setUsable, syncList } from '../dom.ts'
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

/**
 * A canary's weight: slider and number in step, applied with the Set button or Enter in the number (a form; never
 * while dragging). A weight outside 0-100 is not sent: the field is marked invalid and the status line says why.
 */
class CanaryControl {
  readonly root: HTMLFormElement
  readonly #ctx: ViewContext
  readonly #summary = el('span', { class: 'canary-summary' })
  readonly #range = el('input', { type: 'range', min: '0', max: '100', step: '1' })
  readonly #number = el('input', { type: 'number', min: '0', max: '100', step: '0.01', inputmode: 'decimal' })
  readonly #apply = el('button', { type: 'submit', class: 'small', text: 'Set' })
  #route = ''
  /** The operator moved the control and has not applied it: snapshots must not move it back. */
  #editing = false

  constructor (ctx: ViewContext) {
    this.#ctx = ctx
    this.#range.addEventListener('input', () => { this.#edited(); this.#number.value = this.#range.value })
    this.#number.addEventListener('input', () => { this.#edited(); this.#range.value = this.#number.value })
    // novalidate: the browser's own bubble for 150 is neither announced by every screen reader nor styled; ours is
    this.root = el('form', { class: 'canary', novalidate: '' },
      this.#summary, this.#range, this.#number, el('span', { text: '%' }), this.#apply)
    this.root.addEventListener('submit', (event) => {
      event.preventDefault()
      if (isHeld(this.#apply)) return
      const typed = this.#number.value.trim()
      const weight = typed === '' ? Number.NaN : Number(typed)
      if (!Number.isFinite(weight) || weight < 0 || weight > 100) {
        setAttr(this.#number, 'aria-invalid', 'true')
        ctx.actions.refuse(`Canary weight of route ${this.#route}: ${typed === '' ? 'empty' : `"${typed}"`} is not a weight from 0 to 100; nothing was sent.`)
        return
      }
      this.#editing = false
      ctx.actions.setCanaryWeight(this.#route, weight)
    })
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
    // held (not disabled) while an action runs: the number or Set the operator is on keeps focus
    const usable = reason !== undefined ? 'off' : this.#ctx.actions.busy() !== undefined ? 'held' : 'on'
    for (const control of [this.#range, this.#number, this.#apply]) setUsable(control, usable)
    setAttr(this.#apply, 'title', reason)
    setAttr(this.#apply, 'aria-label', `set the canary weight of route ${route}`)
    setAttr(this.#number, 'aria-label', `canary weight of route ${route}, percent`)
    setAttr(this.#range, 'aria-label', `canary weight of route ${route}, percent`)
  }

  #edited (): void {
    this.#editing = true
    setAttr(this.#number, 'aria-invalid', undefined)
  }
}
