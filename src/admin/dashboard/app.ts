// The page: holds the latest snapshot, draws it, runs the operator's actions, and keeps the live stream open.
import type { AdminApi, ApiResult, TargetAction } from './api.ts'
import { isHeld, lostFocus, setAttr, setHidden, setText, setUsable, syncList } from './dom.ts'
import { formatClock } from './format.ts'
import { LiveClient, type Connection } from './live-client.ts'
import { OnScreen } from './on-screen.ts'
import { PageVersion } from './page-version.ts'
import { SinceTracker } from './since.ts'
import { AttentionList } from './views/attention.ts'
import type { Actions, ViewContext } from './views/context.ts'
import { EventFeed } from './views/event-feed.ts'
import { PoolCard, type PoolItem } from './views/pool-card.ts'
import { RoutesTable } from './views/routes.ts'
import type { DashboardConfig, DashboardRoute, DashboardSnapshot, TrafficSummary } from './wire.ts'

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: '… connecting',
  live: '● live',
  reconnecting: '↻ reconnecting…',
  unauthorized: '✗ token required',
}

function byId<T extends HTMLElement> (id: string): T {
  const node = document.getElementById(id)
  if (node === null) throw new Error(`the page has no #${id}`)
  return node as T
}

export class DashboardApp {
  readonly #api: AdminApi
  readonly #live: LiveClient
  readonly #version = new PageVersion()
  readonly #since = new SinceTracker()
  readonly #ctx: ViewContext
  readonly #attention: AttentionList
  readonly #routes: RoutesTable
  readonly #feed = new EventFeed()
  readonly #cards = new Map<string, PoolCard>()
  readonly #onScreen = new OnScreen()
  #config: DashboardConfig = { tokenRequired: false }
  #snapshot: DashboardSnapshot | undefined
  #receivedAt = 0
  #history: TrafficSummary | undefined
  #busy: string | undefined
  #connection: Connection = 'connecting'

  constructor (api: AdminApi) {
    this.#api = api
    const actions: Actions = {
      disabledReason: () => this.#disabledReason(),
      busy: () => this.#busy,
      targetAction: (pool, target, action) => this.#targetAction(pool, target, action),
      switchover: (pool, to) => {
        void this.#run(`switchover:${pool}`, `Switch pool ${pool} to its ${to === 'backup' ? 'backups' : 'primaries'}`, () => api.switchover(pool, to))
      },
      setCanaryWeight: (route, weight) => {
        void this.#run(`canary:${route}`, `Set the canary weight of route ${route} to ${weight}%`, () => api.setCanaryWeight(route, weight))
      },
      refuse: (reason) => this.#announce(reason, 'bad'),
    }
    this.#ctx = { actions, now: () => this.#now(), since: (key) => this.#since.since(key) }
    this.#attention = new AttentionList(this.#ctx)
    this.#routes = new RoutesTable(this.#ctx)
    let connections = 0
    this.#live = new LiveClient(api, {
      backlog: (events) => {
        // a reconnection may be to an upgraded gateway (a restart, a handover)
        if (++connections > 1) void this.#version.reloadIfChanged()
        this.#feed.replace(events)
        void this.#loadHistory()
      },
      snapshot: (snapshot) => {
        this.#snapshot = snapshot
        this.#receivedAt = performance.now()
        this.#since.update(snapshot.status, snapshot.now)
        this.#render()
      },
      event: (event) => this.#feed.add(event),
      connection: (state) => {
        this.#connection = state
        this.#renderChrome()
        // the token refused (401): the controls the snapshot drew (a canary's) are off now, with no snapshot to come
        this.#render()
      },
    })
    api.onUnauthorized = () => {
      this.#renderChrome()
      this.#render()
    }
  }

  async boot (): Promise<void> {
    byId('attention').append(this.#attention.root)
    byId('routes').append(this.#routes.root)
    byId('events').append(this.#feed.root)
    byId('reload').addEventListener('click', (event) => {
      if (isHeld(event.currentTarget as HTMLElement)) return
      void this.#run('reload', 'Reload the config', () => this.#api.reload())
    })
    byId<HTMLFormElement>('token-form').addEventListener('submit', (event) => {
      event.preventDefault()
      const input = byId<HTMLInputElement>('token')
      this.#api.setToken(input.value)
      input.value = ''
      this.#renderChrome()
      this.#render()
      this.#live.start()
    })
    byId('forget-token').addEventListener('click', () => {
      this.#api.setToken(undefined)
      this.#renderChrome()
      this.#render()
      // Forget hides itself: focus goes to the field that takes the next token, not to <body>
      byId('token').focus()
    })
    this.#live.start() // needs nothing from the config: the stream answers 401 if it wants a token
    const config = await this.#api.get<DashboardConfig>('/dashboard/config.json')
    if (config.ok) this.#config = config.value
    this.#renderChrome()
    this.#render()
    // countdowns and "for 2 min" move on between snapshots
    setInterval(() => { if (document.visibilityState === 'visible') this.#render(true) }, 1000)
  }

  #now (): number {
    return this.#snapshot === undefined ? Date.now() : this.#snapshot.now + (performance.now() - this.#receivedAt)
  }

  #disabledReason (): string | undefined {
    if (this.#config.actionsDisabledReason !== undefined) return this.#config.actionsDisabledReason
    if (this.#config.tokenRequired && this.#api.token === undefined) return 'enter the admin token above.'
    return undefined
  }

  async #loadHistory (): Promise<void> {
    const history = await this.#api.get<TrafficSummary>('/history')
    if (!history.ok) return
    this.#history = history.value
    for (const [name, card] of this.#cards) {
      const series = history.value.pools[name]
      if (series !== undefined) card.chart.replace(series)
    }
  }

  #targetAction (pool: string, target: string, action: TargetAction): void {
    const verb = { drain: 'Drain', enable: 'Enable', disable: 'Disable' }[action]
    void this.#run(`${action}:${pool}:${target}`, `${verb} ${target} in pool ${pool}`, () => this.#api.targetAction(pool, target, action))
  }

  /** One action at a time: its buttons show busy, and the outcome is announced in the status line. */
  async #run (key: string, description: string, call: () => Promise<ApiResult<unknown>>): Promise<void> {
    if (this.#busy !== undefined || this.#disabledReason() !== undefined) return
    this.#busy = key
    this.#announce(`${description}…`, 'pending')
    this.#render()
    let result: ApiResult<unknown>
    try {
      result = await call()
    } finally {
      this.#busy = undefined
    }
    if (result.ok) {
      this.#announce(`${description}: done.`, 'ok')
    } else {
      this.#announce(`${description}: failed (${result.status === 0 ? result.error : result.status}) — ${result.message}`, 'bad')
      if (result.problems !== undefined) {
        this.#feed.addLocal({ at: new Date(this.#now()).toISOString(), kind: 'reload-rejected', message: 'config reload rejected', problems: result.problems })
      }
    }
    const focused = document.activeElement
    this.#renderChrome()
    this.#render()
    // the action was refused for its token (401): every control is off now and the token field shows; focus goes there
    if (focused instanceof HTMLElement && focused !== document.body && lostFocus(focused) && this.#disabledReason() !== undefined) {
      const token = byId('token')
      if (token.closest('[hidden]') === null) token.focus()
    }
  }

  #announce (text: string, tone: 'pending' | 'ok' | 'bad'): void {
    const line = byId('action-status')
    setText(line, text)
    setAttr(line, 'class', `action-status tone-${tone === 'pending' ? 'warn' : tone}`)
  }

  /** Header, token form, notices: what depends on the connection and the token rather than on the snapshot. */
  #renderChrome (): void {
    const connection = byId('connection')
    setText(connection, CONNECTION_TEXT[this.#connection])
    setAttr(connection, 'class', `badge tone-${this.#connection === 'live' ? 'ok' : this.#connection === 'unauthorized' ? 'bad' : 'warn'}`)
    setAttr(connection, 'data-connection', this.#connection)
    // what is on screen may be old while the stream is down: say so by more than the badge (a banner, an outline),
    // at full contrast (the whole page dimmed to .55 was unreadable just when it was needed)
    const stale = this.#connection !== 'live' && this.#snapshot !== undefined
    document.body.classList.toggle('stale', stale)
    setHidden(byId('stale'), !stale)
    if (stale && this.#snapshot !== undefined) setText(byId('stale-since'), formatClock(this.#snapshot.now))

    const form = byId('token-form')
    const needsToken = this.#config.tokenRequired || this.#connection === 'unauthorized'
    setHidden(form, !needsToken)
    const hasToken = this.#api.token !== undefined
    setAttr(byId('token'), 'placeholder', hasToken ? 'token set: type to replace' : 'admin token')
    setHidden(byId('forget-token'), !hasToken)

    const reason = this.#disabledReason() ?? (this.#connection === 'unauthorized' ? 'the admin listener wants a token even to show its state: enter it above.' : undefined)
    const notice = byId('notice')
    setHidden(notice, reason === undefined)
    setText(notice, reason === undefined ? '' : `Actions disabled: ${reason}`)
    const reload = byId<HTMLButtonElement>('reload')
    setUsable(reload, this.#disabledReason() !== undefined ? 'off' : this.#busy !== undefined ? 'held' : 'on')
    setAttr(reload, 'title', this.#disabledReason())
  }

  /** `tick`: only time moved (countdowns, "for 2 min"): the routes table, which shows none, is left as it is. */
  #render (tick = false): void {
    const snapshot = this.#snapshot
    if (snapshot === undefined) return
    const { status, traffic } = snapshot
    setText(byId('readiness'), status.readiness)
    setAttr(byId('readiness'), 'class', `badge tone-${status.readiness === 'ready' ? 'ok' : 'warn'}`)
    setText(byId('config'), `v${status.version} · config ${status.configHash.slice(0, 8)} loaded ${formatClock(status.configLoadedAt)}`)
    setAttr(byId('config'), 'title', status.configFile)
    this.#attention.update(status)

    // each pool's routes, in one pass over them (a filter per pool was 200 × 5,000 tests a snapshot at fleet scale)
    const routesOf = new Map<string, DashboardRoute[]>()
    for (const r of status.routes) {
      for (const name of new Set([r.pool, r.canary?.pool, r.split?.readPool, r.mirror?.pool])) {
        if (name === undefined) continue
        const list = routesOf.get(name)
        if (list === undefined) routesOf.set(name, [r])
        else list.push(r)
      }
    }
    const items: PoolItem[] = Object.entries(status.pools).map(([name, pool]) => ({
      name,
      pool,
      routes: routesOf.get(name) ?? [],
      traffic: traffic.targets[name],
      recent: traffic.pools[name],
      at: snapshot.now,
    }))
    syncList(byId('pools'), this.#cards, items, (i) => i.name, (i) => {
      const card = new PoolCard(i, this.#ctx, this.#onScreen)
      const series = this.#history?.pools[i.name]
      if (series !== undefined) card.chart.replace(series)
      return card
    })
    if (!tick) this.#routes.update(status.routes.map((route) => ({ route, pool: status.pools[route.pool] })))
    this.#renderChrome()
  }
}

