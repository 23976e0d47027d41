// bench/instructions.ts's tables, from its measurements: instructions per request by contender and measurement,
// the main thread's share, and where the instructions go (by part of the stack, and the functions that differ
// most). A measurement is a series of counted windows; its figure is the median of its quiet windows, those in
// which V8 neither compiled nor ran a full collection (FIGURE says why).
import type { FunctionCost } from './callgrind-format.ts'
import { byCategory, categoryOf, shortName } from './instruction-categories.ts'

export interface CountWindow {
  requests: number
  /** Wall time of the window (valgrind's pace, not the proxy's). */
  seconds: number
  /** Instructions counted in the window, all threads. */
  total: number
  /** Of which the main thread's (JavaScript and the event loop). */
  mainThread: number
  /** Of which V8's optimizing compilers' (any thread): JIT warm-up, left out of the figure. */
  compiling: number
  fullGcs: number
  scavenges: number
  functions: FunctionCost[]
}

export interface InstructionRun {
  contender: string
  connections: number
  round: number
  windows: CountWindow[]
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
const kilo = (n: number): string => `${(n / 1000).toFixed(1)}k`
const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length
const signed = (n: number): string => `${n >= 0 ? '+' : '−'}${fmt(Math.abs(n))}`
/** A window's instructions per request, V8's optimizing compilers left out. */
const perRequest = (w: CountWindow): number => (w.total - w.compiling) / w.requests

/** How a measurement's figure is made, for the report. */
export const FIGURE = 'the median of each measurement\'s quiet windows, in instructions per request. A quiet window is one in which V8 changed no code ' +
  '(its optimizing compilers, TurboFan and Maglev, ran less than 0.3% of the instructions) and ran no full (mark-compact) collection; scavenges are in every window and counted. ' +
  'Under valgrind V8 kept compiling in bursts long after the warm-up (0 in one window, 5,000-117,000 instructions per request in the next, deoptimized code running until ' +
  'its replacement was ready, so the window\'s other instructions rose too), and a full collection deoptimizes code, which makes the next windows cost more until it is recompiled. ' +
  'Natively both are over within seconds or rare. A measurement with no quiet window takes the median of all its windows, compiling left out, and is marked "unsettled". ' +
  '"All windows\' mean" keeps everything in. The tables of threads, parts and functions are over the quiet windows.'

/** V8 changed no code in the window and ran no full collection: the steady state. */
export function isQuiet (w: CountWindow): boolean {
  return w.fullGcs === 0 && w.compiling < 0.003 * w.total
}

/** The windows a measurement's figure is made of: its quiet ones, or all of them when none is. */
export function figureWindows (run: InstructionRun): CountWindow[] {
  const quiet = run.windows.filter(isQuiet)
  return quiet.length > 0 ? quiet : run.windows
}

/** The run's figure: the median of its figure windows (the lower of the middle two for an even count). */
export function figure (run: InstructionRun): number {
  const sorted = figureWindows(run).map(perRequest).sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)]!
}

/** Every window of the run together: all instructions (compiling, full collections and their aftermath included) over requests. */
export function allWindowsPerRequest (run: InstructionRun): number {
  return run.windows.reduce((s, w) => s + w.total, 0) / run.windows.reduce((s, w) => s + w.requests, 0)
}

/** V8's optimizing compilers over every window, per request. */
export function compilingPerRequest (run: InstructionRun): number {
  return run.windows.reduce((s, w) => s + w.compiling, 0) / run.windows.reduce((s, w) => s + w.requests, 0)
}

function runsOf (runs: readonly InstructionRun[], contender: string, connections: number): InstructionRun[] {
  return runs.filter((r) => r.contender === contender && r.connections === connections)
}

/** Each measurement's figure windows: what the tables of threads and functions are made of. */
function figureWindowsOf (runs: readonly InstructionRun[], contender: string, connections: number): CountWindow[] {
  return runsOf(runs, contender, connections).flatMap(figureWindows)
}

function meanFigure (runs: readonly InstructionRun[], contender: string, connections: number): number | undefined {
  const rs = runsOf(runs, contender, connections)
  return rs.length === 0 ? undefined : mean(rs.map(figure))
}

/** contender | conns | quiet windows | figure per measurement | mean | spread | vs floor | all windows | compiling | full GCs. */
export function countTable (runs: readonly InstructionRun[], contenders: readonly string[], connections: readonly number[], floor = 'floor'): string {
  const lines = [
    '| contender | conns | windows × requests | quiet windows, each repeat | median of the quiet windows, instructions per request, each repeat | mean | spread (max−min)/mean | vs floor | all windows\' mean, compiling included, each repeat | compiling per request, all windows | full GCs in the windows |',
    '| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | --- | --- | ---: |',
  ]
  for (const c of connections) {
    const base = meanFigure(runs, floor, c)
    for (const name of contenders) {
      const rs = runsOf(runs, name, c)
      if (rs.length === 0) continue
      const each = rs.map(figure)
      const quiet = rs.map((r) => `${r.windows.filter(isQuiet).length === 0 ? 'unsettled' : r.windows.filter(isQuiet).length}`).join(' / ')
      const m = mean(each)
      const spread = (Math.max(...each) - Math.min(...each)) / m
      const shape = `${rs[0]!.windows.length} × ${fmt(rs[0]!.windows[0]!.requests)}`
      const gcs = rs.map((r) => r.windows.reduce((n, w) => n + w.fullGcs, 0)).join(' / ')
      lines.push(`| ${name} | ${c} | ${shape} | ${quiet} | ${each.map(fmt).join(' / ')} | ${fmt(m)} | ${(spread * 100).toFixed(1)}% | ${base === undefined ? '' : `${(m / base).toFixed(3)}×`} | ${rs.map((r) => fmt(allWindowsPerRequest(r))).join(' / ')} | ${rs.map((r) => fmt(compilingPerRequest(r))).join(' / ')} | ${gcs} |`)
    }
  }
  return lines.join('\n')
}

/** One line per measurement: each window's figure in thousands, in order; "*" a quiet window, else its compiling and "GC" for a full collection. */
export function windowLines (runs: readonly InstructionRun[]): string[] {
  const notes = (w: CountWindow): string => {
    if (isQuiet(w)) return '*'
    const c = w.compiling / w.requests
    const n = [...(c >= 50 ? [`+${kilo(c)} compiling`] : []), ...(w.fullGcs > 0 ? ['GC'] : [])]
    return n.length === 0 ? '' : ` (${n.join(', ')})`
  }
  return runs.map((r) => `- ${r.contender} c=${r.connections} round ${r.round}: ${r.windows.map((w) => `${kilo(perRequest(w))}${notes(w)}`).join(', ')}`)
}

/** contender | conns | main thread | other threads, per request over the figure windows. */
export function threadTable (runs: readonly InstructionRun[], contenders: readonly string[], connections: readonly number[]): string {
  const lines = [
    '| contender | conns | main thread per request | other threads per request | other threads\' share | scavenges per 1,000 requests |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const c of connections) {
    for (const name of contenders) {
      const ws = figureWindowsOf(runs, name, c)
      if (ws.length === 0) continue
      const requests = ws.reduce((s, w) => s + w.requests, 0)
      const total = ws.reduce((s, w) => s + w.total, 0) / requests
      const main = ws.reduce((s, w) => s + w.mainThread, 0) / requests
      const scavenges = ws.reduce((s, w) => s + w.scavenges, 0) / requests * 1000
      lines.push(`| ${name} | ${c} | ${fmt(main)} | ${fmt(total - main)} | ${((total - main) / total * 100).toFixed(1)}% | ${scavenges.toFixed(2)} |`)
    }
  }
  return lines.join('\n')
}

/** Self cost per request of each function over a contender's figure windows at one concurrency. */
export function functionCosts (runs: readonly InstructionRun[], contender: string, connections: number): Map<string, { f: FunctionCost, perRequest: number }> {
  const ws = figureWindowsOf(runs, contender, connections)
  const requests = ws.reduce((s, w) => s + w.requests, 0)
  const out = new Map<string, { f: FunctionCost, perRequest: number }>()
  for (const w of ws) {
    for (const f of w.functions) {
      const id = `${f.object}\0${f.name}`
      const seen = out.get(id)
      if (seen === undefined) out.set(id, { f, perRequest: f.self / requests })
      else seen.perRequest += f.self / requests
    }
  }
  return out
}

function categories (runs: readonly InstructionRun[], contender: string, connections: number): Map<string, number> {
  return byCategory([...functionCosts(runs, contender, connections).values()].map((c) => ({ ...c.f, self: c.perRequest })), 1)
}

/** part | each contender's instructions per request | last − first; sorted by that difference. */
export function categoryTable (runs: readonly InstructionRun[], contenders: readonly string[], connections: number): string {
  const per = contenders.map((c) => categories(runs, c, connections))
  const names = [...new Set(per.flatMap((m) => [...m.keys()]))]
  const first = per[0]!
  const last = per[per.length - 1]!
  const diff = (k: string): number => (last.get(k) ?? 0) - (first.get(k) ?? 0)
  names.sort((a, b) => diff(b) - diff(a) || (last.get(b) ?? 0) - (last.get(a) ?? 0))
  const lines = [
    `| part (self cost per request) | ${contenders.join(' | ')} | ${contenders[contenders.length - 1]} − ${contenders[0]} |`,
    `| --- | ${contenders.map(() => '---:').join(' | ')} | ---: |`,
  ]
  for (const k of names) lines.push(`| ${k} | ${per.map((m) => fmt(m.get(k) ?? 0)).join(' | ')} | ${signed(diff(k))} |`)
  const sums = per.map((m) => [...m.values()].reduce((s, v) => s + v, 0))
  lines.push(`| **total** | ${sums.map((s) => `**${fmt(s)}**`).join(' | ')} | **${signed(sums[sums.length - 1]! - sums[0]!)}** |`)
  return lines.join('\n')
}

const cell = (f: FunctionCost): string => `\`${shortName(f).replaceAll('|', '\\|').replaceAll('`', "'")}\``

/** The `top` functions by how much more (self cost per request) `b` spends in them than `a`. */
export function differenceTable (runs: readonly InstructionRun[], a: string, b: string, connections: number, top: number): string {
  const ca = functionCosts(runs, a, connections)
  const cb = functionCosts(runs, b, connections)
  const rows = [...new Set([...ca.keys(), ...cb.keys()])].map((id) => {
    const f = (cb.get(id) ?? ca.get(id))!.f
    const va = ca.get(id)?.perRequest ?? 0
    const vb = cb.get(id)?.perRequest ?? 0
    return { f, va, vb, d: vb - va }
  }).sort((x, y) => y.d - x.d).slice(0, top)
  const lines = [`| function (self cost per request) | part | ${a} | ${b} | difference |`, '| --- | --- | ---: | ---: | ---: |']
  for (const r of rows) lines.push(`| ${cell(r.f)} | ${categoryOf(r.f)} | ${fmt(r.va)} | ${fmt(r.vb)} | ${signed(r.d)} |`)
  return lines.join('\n')
}

/** The share of a contender's figure-window instructions in JIT code that no symbol and no perf-map line names. */
export function unnamedShare (runs: readonly InstructionRun[], contender: string, connections: number): number {
  const cats = categories(runs, contender, connections)
  const total = [...cats.values()].reduce((s, v) => s + v, 0)
  return (cats.get('JIT code, unnamed') ?? 0) / total
}
