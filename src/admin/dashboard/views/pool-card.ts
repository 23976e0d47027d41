// One pool: breaker and tier at the top (the two things that decide where its traffic goes), the switchover
// button, the routes that use it, its five-minute chart, and a tile per target (primaries first).
import { TrafficChart } from '../chart.ts'
import type { OnScreen } from '../on-screen.ts'
import { el, setAttr, setHidden, setText, setUsable, syncList } from '../dom.ts'
import { formatClock, formatMs, formatRate, formatSpan } from '../format.ts'
import { CIRCUIT_LOOK, HOLD_WORDS, TIER_LOOK } from '../labels.ts'
import type { DashboardPool, DashboardRoute, PoolSeries, TargetTraffic } from '../wire.ts'
import { circuitKey, routeLabel, tierKey, type ViewContext } from './context.ts'
import { TargetTile, type TargetItem } from './target-tile.ts'

export interface PoolItem {
  name: string
  pool: DashboardPool
  routes: DashboardRoute[]
  traffic: Record<string, TargetTraffic> | undefined
  recent: PoolSeries | undefined
  /** The gateway time the status was taken (its countdowns count from there). */
  at: number
}

export class PoolCard {
  readonly root: HTMLElement
  readonly chart: TrafficChart
  readonly #ctx: ViewContext
  readonly #onScreen: OnScreen
  readonly #title = el('span')
  readonly #circuit = el('span', { class: 'badge' })
  readonly #tier = el('span', { class: 'badge' })
  readonly #switchover = el('button', { type: 'button', class: 'small' })
  readonly #routes = el('p', { class: 'pool-routes' })
  readonly #now = el('p', { class: 'pool-now' })
  readonly #targets = el('ul', { class: 'tiles' })
  readonly #tiles = new Map<string, TargetTile>()
  #name = ''
  #switchTo: 'primary' | 'backup' = 'backup'
  /** Within a screen of the viewport (OnScreen); until told, a new card counts as far. */
  #near = false
  /** The latest item while the card is far off screen: drawn when it comes near. */
  #deferred: PoolItem | undefined

  constructor (item: PoolItem, ctx: ViewContext, onScreen: OnScreen) {
    this.#ctx = ctx
    this.#onScreen = onScreen
    this.chart = new TrafficChart(`traffic of pool ${item.name} over the last 5 minutes`, onScreen)
    this.#switchover.addEventListener('click', () => ctx.actions.switchover(this.#name, this.#switchTo))
    // a section with no name of its own: not a landmark (200 pools were 200 regions); its heading names it
    this.root = el('section', { class: 'card pool' },
      el('header', { class: 'card-head' }, el('h3', {}, el('span', { class: 'visually-hidden', text: 'pool ' }), this.#title), el('div', { class: 'badges' }, this.#circuit, this.#tier), this.#switchover),
      this.#routes,
      this.chart.root,
      this.#now,
      this.#targets)
    // drawn whole once, near or not: the page's height and its text (the browser's find) are there from the start
    this.#draw(item)
    onScreen.watch(this.root, {
      near: (near) => {
        this.#near = near
        const deferred = this.#deferred
        this.#deferred = undefined
        if (near && deferred !== undefined) this.#draw(deferred)
      },
    })
  }

  /**
   * A card far off screen keeps only its chart's points (a snapshot carries the last few seconds; they would be
   * lost) and draws the rest when it comes near: at 200 pools most of a snapshot's work was for cards nobody saw.
   */
  update (item: PoolItem): void {
    if (this.#near) {
      this.#draw(item)
      return
    }
    this.#deferred = item
    if (item.recent !== undefined) this.chart.merge(item.recent)
  }

  #draw (item: PoolItem): void {
    const { name, pool } = item
    this.#name = name
    setAttr(this.root, 'data-pool', name)
    setText(this.#title, name)
    this.#renderCircuit(pool, item.at)
    this.#renderTier(pool)
    setText(this.#routes, item.routes.length === 0 ? 'no route uses this pool' : `routes: ${item.routes.map((r) => r.mirror?.pool === item.name ? `${routeLabel(r)} (mirror)` : routeLabel(r)).join(', ')}`)
    this.#renderNow(item.recent)
    if (item.recent !== undefined) this.chart.merge(item.recent)
    const targets = [...pool.targets].sort((a, b) => Number(a.backup) - Number(b.backup))
    const items: TargetItem[] = targets.map((target) => ({ pool: name, target, traffic: item.traffic?.[target.id] }))
    syncList(this.#targets, this.#tiles, items, (i) => i.target.id, (i) => new TargetTile(i, this.#ctx))
  }

  destroy (): void {
    this.#onScreen.unwatch(this.root)
    this.chart.destroy()
  }

  #renderCircuit (pool: DashboardPool, at: number): void {
    const look = CIRCUIT_LOOK[pool.circuit]
    let text = `${look.icon} ${look.label}`
    if (pool.circuit === 'open' && pool.circuitRetryAfterSeconds !== undefined) {
      const since = this.#ctx.since(circuitKey(this.#name))
      const remaining = pool.circuitRetryAfterSeconds * 1000 - (this.#ctx.now() - at)
      text += remaining > 0 ? ` · half-open in ${formatSpan(remaining)}` : ' · half-open due'
      if (since !== undefined) text += ` · since ${formatClock(since)}`
    }
    setText(this.#circuit, text)
    setAttr(this.#circuit, 'class', `badge tone-${look.tone}`)
    setAttr(this.#circuit, 'data-circuit', pool.circuit)
  }

  #renderTier (pool: DashboardPool): void {
    const look = TIER_LOOK[pool.activeTier]
    const since = this.#ctx.since(tierKey(this.#name))
    let text = `${look.icon} ${look.label}`
    // an operator's switchover and a failover held by failback 'manual' read apart: only the first is someone's choice
    if (pool.hold !== 'none') text += HOLD_WORDS[pool.hold]
    if (pool.activeTier !== 'primary' && since !== undefined) text += ` · since ${formatClock(since)}`
    setText(this.#tier, text)
    setAttr(this.#tier, 'class', `badge tone-${look.tone}`)
    setAttr(this.#tier, 'data-tier', pool.activeTier)

    const hasBackups = pool.targets.some((t) => t.backup)
    // a switchover still armed on the primaries or on nothing (its backups went down, or every target) is undone here
    // too, or it would move traffic again when one recovers, with no way to stop it from the page
    const armed = pool.activeTier !== 'backup' && pool.hold === 'operator'
    this.#switchTo = pool.activeTier === 'backup' || armed ? 'primary' : 'backup'
    // shown while a switchover holds too: its backups may be DNS-discovered ones answering nothing for now
    setHidden(this.#switchover, !hasBackups && pool.hold !== 'operator')
    const visible = armed ? 'Cancel the switchover' : this.#switchTo === 'backup' ? 'Switch to backups' : 'Switch to primaries'
    setText(this.#switchover, visible)
    const reason = this.#ctx.actions.disabledReason()
    setUsable(this.#switchover, reason !== undefined ? 'off' : this.#ctx.actions.busy() !== undefined ? 'held' : 'on')
    setAttr(this.#switchover, 'title', reason)
    // the name starts with what the button shows (speech input users say what they see), then says which pool
    setAttr(this.#switchover, 'aria-label', `${visible} (pool ${this.#name})`)
  }

  #renderNow (recent: PoolSeries | undefined): void {
    const i = (recent?.t.length ?? 0) - 1
    if (recent === undefined || i < 0) {
      setText(this.#now, 'no traffic recorded yet')
      return
    }
    setText(this.#now, `last second: ${formatRate(recent.rps[i]!)} · errors ${formatRate(recent.errors[i]!)} · p99 ${formatMs(recent.p99[i])}`)
  }
}
