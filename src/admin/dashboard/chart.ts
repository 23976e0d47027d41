// One pool's last five minutes: req/s and errors/s on the left axis, p99 on the right. Lines differ by dash
// as well as colour, and the legend names each one, so the chart reads without colour too.
import uPlot from 'uplot'
import { formatClock, formatHourMinute, formatMs, formatRate } from './format.ts'
import type { OnScreen } from './on-screen.ts'
import type { PoolSeries } from './wire.ts'

const HEIGHT = 150
/** Five minutes at one point a second. */
const KEEP_POINTS = 300
/** Under prefers-reduced-motion new points are drawn at most this often: a line crawling every second is motion. */
const REDUCED_MOTION_REDRAW_MS = 10_000

export class TrafficChart {
  readonly root: HTMLElement
  #series: PoolSeries = { t: [], rps: [], errors: [], p99: [] }
  #plot: uPlot | undefined
  readonly #onScreen: OnScreen
  /** Near the viewport (OnScreen): a chart far off screen keeps its points but draws nothing. */
  #near = false
  #width = 0
  /** Points arrived since the plot last drew. */
  #stale = false
  #drawnAt = Number.NEGATIVE_INFINITY
  #later: ReturnType<typeof setTimeout> | undefined

  constructor (label: string, onScreen: OnScreen) {
    this.root = document.createElement('div')
    this.root.className = 'chart'
    this.root.setAttribute('role', 'img')
    this.root.setAttribute('aria-label', label)
    this.#onScreen = onScreen
    onScreen.watch(this.root, {
      near: (near) => {
        this.#near = near
        if (near) this.#draw()
      },
      width: (px) => {
        this.#width = px
        this.#draw()
      },
    })
  }

  /** Replaces everything (GET /history). */
  replace (series: PoolSeries): void {
    this.#series = { t: [...series.t], rps: [...series.rps], errors: [...series.errors], p99: [...series.p99] }
    this.#trim()
    this.#stale = true
    this.#draw()
  }

  /** Adds the points newer than the last one held (a snapshot carries the last few). */
  merge (recent: PoolSeries): void {
    const last = this.#series.t.at(-1) ?? Number.NEGATIVE_INFINITY
    let added = false
    for (let i = 0; i < recent.t.length; i++) {
      if (recent.t[i]! <= last) continue
      this.#series.t.push(recent.t[i]!)
      this.#series.rps.push(recent.rps[i]!)
      this.#series.errors.push(recent.errors[i]!)
      this.#series.p99.push(recent.p99[i] ?? null)
      added = true
    }
    if (!added) return
    this.#trim()
    this.#stale = true
    this.#draw()
  }

  destroy (): void {
    clearTimeout(this.#later)
    this.#onScreen.unwatch(this.root)
    this.#plot?.destroy()
  }

  #trim (): void {
    const extra = this.#series.t.length - KEEP_POINTS
    if (extra <= 0) return
    for (const column of [this.#series.t, this.#series.rps, this.#series.errors, this.#series.p99]) column.splice(0, extra)
  }

  #data (): uPlot.AlignedData {
    return [this.#series.t.map((t) => t / 1000), this.#series.rps, this.#series.errors, this.#series.p99]
  }

  /** The plot is made once the chart is near the screen and has a width, and follows both afterwards. */
  #draw (): void {
    if (!this.#near || this.#width <= 0) return
    if (this.#plot === undefined) {
      this.#plot = new uPlot(options(this.#width), this.#data(), this.root)
    } else {
      const resized = this.#plot.width !== this.#width
      if (resized) this.#plot.setSize({ width: this.#width, height: HEIGHT })
      if (!this.#stale) return
      const wait = this.#drawnAt + REDUCED_MOTION_REDRAW_MS - performance.now()
      if (!resized && wait > 0 && matchMedia('(prefers-reduced-motion: reduce)').matches) {
        this.#later ??= setTimeout(() => { this.#later = undefined; this.#draw() }, wait)
        return
      }
      this.#plot.setData(this.#data())
    }
    this.#drawnAt = performance.now()
    this.#stale = false
  }
}

function options (width: number): uPlot.Options {
  const css = getComputedStyle(document.documentElement)
  const color = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback
  const text = color('--text-muted', '#555')
  const grid = color('--grid', '#e5e5e5')
  const axis = (scale: string, side: 1 | 3, format: (v: number) => string): uPlot.Axis => ({
    scale,
    side,
    stroke: text,
    grid: { show: side === 3, stroke: grid, width: 1 },
    ticks: { show: false },
    size: 56,
    values: (_u, splits) => splits.map(format),
  })
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      n: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      ms: { range: (_u, _min, max) => [0, Math.max(1, max ?? 1)] },
    },
    axes: [
      { stroke: text, grid: { show: false }, ticks: { show: false }, values: (_u, splits) => splits.map((s) => formatHourMinute(s * 1000)) },
      axis('n', 3, (v) => formatRate(v)),
      axis('ms', 1, (v) => formatMs(v)),
    ],
    series: [
      { value: (_u, v) => v === null ? '–' : formatClock(v * 1000) },
      { label: 'req/s', scale: 'n', stroke: color('--chart-rps', '#1f6fd1'), width: 2, value: (_u, v) => v === null ? '–' : formatRate(v) },
      { label: 'errors/s', scale: 'n', stroke: color('--chart-errors', '#c62828'), width: 2, dash: [6, 4], value: (_u, v) => v === null ? '–' : formatRate(v) },
      { label: 'p99', scale: 'ms', stroke: color('--chart-p99', '#6a3fb5'), width: 1.5, dash: [2, 3], spanGaps: false, value: (_u, v) => formatMs(v) },
    ],
  }
}
