// The event feed, newest first: what changed, where, when. A rejected reload lists its problems.
// A reload this page asked for and saw rejected shows at once (from the 422), and gives way to the gateway's own
// event for it when that arrives, so the feed never shows the same rejection twice.
import { el } from '../dom.ts'
import { formatClock } from '../format.ts'
import type { GatewayEvent } from '../wire.ts'

const KEEP = 200
/** A gateway event this close to a local one is taken to be the same rejection. */
const RECENT_MS = 30_000

const KIND_LOOK: Record<GatewayEvent['kind'], { icon: string; label: string }> = {
  breaker: { icon: '⚡', label: 'breaker' },
  target: { icon: '●', label: 'target' },
  // one kind for failover, failback and "no target available": the message says which
  tier: { icon: '⇅', label: 'tier' },
  drain: { icon: '↘', label: 'drain' },
  reload: { icon: '⟳', label: 'reload' },
  'reload-rejected': { icon: '⚠', label: 'reload rejected' },
  switchover: { icon: '⇄', label: 'switchover' },
  canary: { icon: '◆', label: 'canary' },
  split: { icon: '⑂', label: 'split' },
}

interface Entry { event: GatewayEvent; local: boolean; node: HTMLElement }

/** What tells two events apart: the gateway sends no id, and the same event comes again in every backlog. */
function identity (event: GatewayEvent): string {
  return JSON.stringify(event)
}

export class EventFeed {
  readonly root: HTMLElement
  // a plain list inside the live region (role=log on the <ol> took its list semantics away)
  readonly #list = el('ol', { class: 'feed' })
  readonly #empty = el('p', { class: 'muted', text: 'No events yet.' })
  #entries: Entry[] = []

  constructor () {
    // focusable: it scrolls (beside the pools, or in a short box on a narrow screen), and keys must scroll it too
    this.root = el('div', { class: 'feed-box', role: 'log', 'aria-label': 'events, newest first', tabindex: '0' }, this.#empty, this.#list)
  }

  /**
   * The backlog of a (re)connection: replaces what the gateway sent before; local entries stay. An event already
   * shown keeps its node: a new one for each was the whole backlog read out again by a screen reader on every
   * reconnect (and on entering the token).
   */
  replace (events: readonly GatewayEvent[]): void {
    const shown = new Map<string, Entry>()
    for (const entry of this.#entries) if (!entry.local) shown.set(identity(entry.event), entry)
    this.#entries = this.#entries.filter((e) => e.local)
    for (const event of events) {
      const key = identity(event)
      const entry = shown.get(key)
      shown.delete(key) // an event sent twice in one backlog gets a second node
      this.#insert(event, false, entry?.node)
    }
    this.#render()
  }

  add (event: GatewayEvent): void {
    this.#insert(event, false)
    this.#render()
  }

  /** An event only this page knows of (a reload it requested was refused), unless the gateway's came first. */
  addLocal (event: GatewayEvent): void {
    const recent = (e: Entry): boolean => Math.abs(Date.parse(e.event.at) - Date.parse(event.at)) < RECENT_MS
    if (this.#entries.some((e) => !e.local && recent(e) && sameRejection(e.event, event))) return
    this.#insert(event, true)
    this.#render()
  }

  #insert (event: GatewayEvent, local: boolean, node?: HTMLElement): void {
    if (!local) this.#entries = this.#entries.filter((e) => !(e.local && sameRejection(e.event, event)))
    const entry: Entry = { event, local, node: node ?? renderEvent(event, local) }
    // newest first; events arrive in order, so this is nearly always the front
    let i = 0
    while (i < this.#entries.length && this.#entries[i]!.event.at > event.at) i++
    this.#entries.splice(i, 0, entry)
    if (this.#entries.length > KEEP) this.#entries.length = KEEP
  }

  #render (): void {
    this.#empty.hidden = this.#entries.length > 0
    // only new or moved entries are touched: one left in place keeps the text a reader selected in it, and the
    // browser's scroll anchoring keeps what they read where it was (every entry was put back on every event)
    const list = this.#list
    this.#entries.forEach((entry, i) => {
      const there = list.children[i]
      if (there !== entry.node) list.insertBefore(entry.node, there ?? null)
    })
    while (list.children.length > this.#entries.length) list.lastElementChild!.remove()
  }
}

function sameRejection (a: GatewayEvent, b: GatewayEvent): boolean {
  return a.kind === 'reload-rejected' && b.kind === 'reload-rejected' && (a.problems ?? []).join('\n') === (b.problems ?? []).join('\n')
}

function renderEvent (event: GatewayEvent, local: boolean): HTMLElement {
  const look = KIND_LOOK[event.kind] ?? { icon: '•', label: event.kind }
  const scope = [event.pool && `pool ${event.pool}`, event.target, event.route && `route ${event.route}`].filter(Boolean).join(' · ')
  // the parts sit apart on screen (flex gaps) but not in the text a screen reader reads: "13:18:45breakerpool users"
  const gap = (text: string): HTMLElement => el('span', { class: 'visually-hidden', text })
  return el('li', { class: `event kind-${event.kind}`, 'data-kind': event.kind },
    el('time', { datetime: event.at, text: formatClock(event.at) }),
    gap(' '),
    el('span', { class: 'event-kind' }, el('span', { 'aria-hidden': 'true', text: `${look.icon} ` }), look.label),
    gap(scope === '' ? ': ' : ', '),
    scope === '' ? null : el('span', { class: 'event-scope', text: scope }),
    scope === '' ? null : gap(': '),
    el('span', { class: 'event-message', text: event.message + (local ? ' (reported to this page)' : '') }),
    event.problems !== undefined && event.problems.length > 0
      ? el('ul', { class: 'problems' }, ...event.problems.map((p) => el('li', { text: p })))
      : null)
}
