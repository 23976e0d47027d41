// Test helper: parses the Prometheus text exposition strictly, so tests compare series and values, not text.
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  readonly samples: readonly Sample[]
  /** metric family name → type, from the # TYPE lines */
  readonly types: ReadonlyMap<string, string>
  readonly helps: ReadonlyMap<string, string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const PAIR = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/

function unescape (value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
}

function parseLabels (text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {}
  let rest = text
  while (rest !== '') {
    const m = PAIR.exec(rest)
    if (m === null) throw new Error(`malformed labels in: ${line}`)
    if (m[1]! in labels) throw new Error(`duplicate label ${m[1]} in: ${line}`)
    labels[m[1]!] = unescape(m[2]!)
    rest = rest.slice(m[0].length)
  }
  return labels
}

// As Prometheus reads values (Go's ParseFloat): Inf and NaN in any case (prom-client writes 'Nan').
function parseValue (text: string, line: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity
  if (/^-inf$/i.test(text)) return -Infinity
  if (/^nan$/i.test(text)) return NaN
  const n = Number(text)
  if (text === '' || Number.isNaN(n)) throw new Error(`malformed value in: ${line}`)
  return n
}

export function parseExposition (text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline')
  const samples: Sample[] = []
  const types = new Map<string, string>()
  const helps = new Map<string, string>()
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ')
      if (types.has(name!)) throw new Error(`second TYPE for ${name}`)
      types.set(name!, type!)
    } else if (line.startsWith('# HELP ')) {
      const space = line.indexOf(' ', 7)
      helps.set(line.slice(7, space), line.slice(space + 1))
    } else {
      const m = SAMPLE.exec(line)
      if (m === null) throw new Error(`malformed line: ${line}`)
      samples.push({ name: m[1]!, labels: parseLabels(m[2] ?? '', line), value: parseValue(m[3]!, line) })
    }
  }
  return { samples, types, helps }
}

/** `name{a="x",b="y"}` with labels sorted by name: one key per series, independent of label order. */
export function seriesKey (name: string, labels: Readonly<Record<string, string>>): string {
  const pairs = Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`)
  return pairs.length === 0 ? name : `${name}{${pairs.join(',')}}`
}

/** Every sample whose name starts with `prefix`, as series key → value. Throws on a series listed twice. */
export function seriesOf (text: string, prefix = 'switchyard_'): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of parseExposition(text).samples) {
    if (!s.name.startsWith(prefix)) continue
    const key = seriesKey(s.name, s.labels)
    if (key in out) throw new Error(`series listed twice: ${key}`)
    out[key] = s.value
  }
  return out
}

/** The expected-series key for a table: key('switchyard_x', { pool: 'a' }). */
export const key = seriesKey

/**
 * A gateway's access-log lines' statuses against the statuses its counters count (requests_total and
 * refused_requests_total), each sorted: every request logged once and counted once, with the same status.
 */
export async function logAndCounters (gw: { accessLogs (): Array<Record<string, unknown>>; gateway: { metrics?: { render (): Promise<string> | string } | undefined } }): Promise<{ logged: number[]; counted: number[] }> {
  const logged = gw.accessLogs().map((l) => l.status as number).sort()
  const series = seriesOf(await gw.gateway.metrics!.render())
  const counted: number[] = []
  for (const [k, v] of Object.entries(series)) {
    const m = /^switchyard_(?:refused_)?requests_total\{code="(\d+)"/.exec(k)
    if (m !== null) for (let i = 0; i < v; i++) counted.push(Number(m[1]))
  }
  return { logged, counted: counted.sort() }
}
