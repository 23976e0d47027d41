// One target: its state as icon + word + colour, traffic over the last minute, the last health check, and the
// drain / enable / disable buttons.
import type { TargetAction } from '../api.ts'
import { el, lostFocus, setAttr, setHidden, setText, setUsable } from '../dom.ts'
import { formatClock, formatMs, formatPercent, formatRate, formatSpan } from '../format.ts'
import { lookOf } from '../labels.ts'
import type { DashboardTarget, TargetTraffic } from '../wire.ts'
import { targetKey, type ViewContext } from './context.ts'

export interface TargetItem { pool: string; target: DashboardTarget; traffic: TargetTraffic | undefined }

const ACTIONS: readonly TargetAction[] = ['drain', 'enable', 'disable']
/** Where focus goes when the focused button stops applying (a drain done, the target disabled or enabled again). */
const COUNTERPART: Record<TargetAction, TargetAction> = { drain: 'enable', disable: 'enable', enable: 'drain' }

export class TargetTile {
  readonly root: HTMLElement
  readonly #ctx: ViewContext
  readonly #icon = el('span', { class: 'state-icon', 'aria-hidden': 'true' })
  readonly #state = el('span', { class: 'state-label' })
  readonly #since = el('span', { class: 'since' })
  readonly #id = el('span', { class: 'target-id' })
  readonly #role = el('span', { class: 'tag' })
  readonly #inFlight = el('dd')
  readonly #tunnels = el('dd')
  /** Its own line under the four figures: "1 (1 WebSocket)" did not fit a quarter of a tile and ran over req/s. */
  readonly #tunnelsRow = el('div', { class: 'tunnels' }, el('dt', { text: 'WebSocket tunnels' }), this.#tunnels)
  readonly #rps = el('dd')
  readonly #errors = el('dd')
  readonly #p99 = el('dd')
  readonly #check = el('p', { class: 'check' })
  readonly #buttons: Record<TargetAction, HTMLButtonElement>
  #pool = ''
  #target = ''

  constructor (item: TargetItem, ctx: ViewContext) {
    this.#ctx = ctx
    this.#buttons = {
      drain: el('button', { type: 'button', class: 'small', text: 'Drain' }),
      enable: el('button', { type: 'button', class: 'small', text: 'Enable' }),
      disable: el('button', { type: 'button', class: 'small', text: 'Disable' }),
    }
    for (const action of ACTIONS) this.#buttons[action].addEventListener('click', () => ctx.actions.targetAction(this.#pool, this.#target, action))
    const stat = (label: string, value: HTMLElement): HTMLElement => el('div', {}, el('dt', { text: label }), value)
    this.root = el('li', { class: 'tile' },
      el('div', { class: 'tile-head' },
        el('span', { class: 'state' }, this.#icon, this.#state), this.#since),
      el('div', { class: 'tile-name' }, this.#id, this.#role),
      el('dl', { class: 'stats' }, stat('in flight', this.#inFlight), stat('req/s', this.#rps), stat('errors', this.#errors), stat('p99', this.#p99), this.#tunnelsRow),
      this.#check,
      el('div', { class: 'buttons' }, ...ACTIONS.map((a) => this.#buttons[a])))
    this.update(item)
  }

  update ({ pool, target, traffic }: TargetItem): void {
    this.#pool = pool
    this.#target = target.id
    const look = lookOf(target.state)
    setAttr(this.root, 'class', `tile tone-${look.tone}`)
    setAttr(this.root, 'data-state', target.state)
    setAttr(this.root, 'data-target', target.id)
    setText(this.#icon, look.icon)
    setText(this.#state, look.label)
    const since = this.#ctx.since(targetKey(pool, target.id))
    setText(this.#since, since === undefined ? '' : `for ${formatSpan(this.#ctx.now() - since)}`)
    setAttr(this.#since, 'title', since === undefined ? undefined : `since ${formatClock(since)}`)
    setText(this.#id, target.id)
    setAttr(this.#id, 'title', target.url)
    setText(this.#role, `${target.backup ? 'backup' : 'primary'} · w${target.weight}`)
    // open WebSocket tunnels count in flight: named (on their own line), so a drain that does not finish says why
    setText(this.#inFlight, String(target.inFlight))
    setHidden(this.#tunnelsRow, target.tunnels === 0)
    setText(this.#tunnels, String(target.tunnels))
    setText(this.#rps, traffic === undefined ? '–' : formatRate(traffic.rps))
    setText(this.#errors, traffic === undefined ? '–' : formatPercent(traffic.errorRate))
    setAttr(this.#errors, 'class', traffic !== undefined && traffic.errorRate >= 0.05 ? 'alarm' : undefined)
    setText(this.#p99, traffic === undefined ? '–' : formatMs(traffic.p99))
    this.#renderCheck(target)
    this.#renderButtons(target)
  }

  #renderCheck (target: DashboardTarget): void {
    const check = target.lastCheck
    setHidden(this.#check, check === undefined)
    if (check === undefined) return
    const ago = formatSpan(this.#ctx.now() - Date.parse(check.at))
    const detail = check.ok ? (check.status === undefined ? 'ok' : String(check.status)) : (check.error ?? (check.status === undefined ? 'failed' : String(check.status)))
    setText(this.#check, `${check.ok ? '✓' : '✗'} check ${check.ok ? 'passed' : 'failed'}: ${detail} · ${ago} ago`)
    setAttr(this.#check, 'class', check.ok ? 'check' : 'check failed')
  }

  #renderButtons (target: DashboardTarget): void {
    const reason = this.#ctx.actions.disabledReason()
    const busy = this.#ctx.actions.busy()
    const applies: Record<TargetAction, boolean> = {
      drain: target.state !== 'draining' && target.state !== 'drained' && target.state !== 'disabled',
      enable: target.state === 'draining' || target.state === 'drained' || target.state === 'disabled',
      disable: target.state !== 'disabled',
    }
    const focused = ACTIONS.find((action) => document.activeElement === this.#buttons[action])
    for (const action of ACTIONS) {
      const button = this.#buttons[action]
      const key = `${action}:${this.#pool}:${target.id}`
      setUsable(button, reason !== undefined || !applies[action] ? 'off' : busy !== undefined ? 'held' : 'on')
      setAttr(button, 'aria-busy', busy === key ? 'true' : undefined)
      setAttr(button, 'aria-label', `${action} ${target.id} in pool ${this.#pool}`)
      setAttr(button, 'title', reason)
    }
    if (focused !== undefined && lostFocus(this.#buttons[focused])) {
      const next = [COUNTERPART[focused], ...ACTIONS].map((a) => this.#buttons[a]).find((b) => !b.disabled)
      next?.focus()
    }
  }
}
