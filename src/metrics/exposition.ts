// The Prometheus text format (version 0.0.4), written directly: label sets are escaped once when a series is
// bound, and a scrape copies those prefixes and the values into one growing buffer. (prom-client re-escapes
// every label of every line on each scrape and hashes the label object on every increment; building the text
// as an array of line strings and joining it cost 3-4× the buffer's time at 20,000 series.)
import type { MetricSpec } from './catalogue.ts'

const NEEDS_ESCAPE = /[\\"\n]/

export function escapeLabelValue (value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

/** `a="x",b="y"`: the inside of a label set, escaped. Throws on a wrong number of values (a programming error). */
export function labelPairs (names: readonly string[], values: readonly string[]): string {
  if (names.length !== values.length) throw new TypeError(`expected ${names.length} label values (${names.join(', ')}), got ${values.length}`)
  let out = ''
  for (let i = 0; i < names.length; i++) out += `${i === 0 ? '' : ','}${names[i]}="${escapeLabelValue(values[i]!)}"`
  return out
}

/** `{a="x",b="y"}`, or nothing for a metric without labels. */
export function labelSet (names: readonly string[], values: readonly string[]): string {
  const pairs = labelPairs(names, values)
  return pairs === '' ? '' : `{${pairs}}`
}

export function formatValue (value: number): string {
  if (Number.isFinite(value)) return String(value)
  if (Number.isNaN(value)) return 'NaN'
  return value > 0 ? '+Inf' : '-Inf'
}

export function writeHeader (out: TextWriter, spec: MetricSpec): void {
  const help = spec.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
  out.line(`# HELP ${spec.name} ${help}`)
  out.line(`# TYPE ${spec.name} ${spec.type}`)
}

/**
 * A family yields after this many lines' worth of series, so a scrape of a large exposition can let requests in
 * between slices (GatewayMetrics.render).
 */
export const LINES_PER_SLICE = 2000

/** Runs a family's slices to the end at once. */
export function renderWhole (slices: Iterable<void>): void {
  for (const _slice of slices);
}

/** The exposition being written: UTF-8 into a buffer that is kept and grown, never one string per line. */
export class TextWriter {
  #buffer = Buffer.allocUnsafe(64 * 1024)
  #length = 0

  text (text: string): void {
    this.#reserve(text.length * 3) // a UTF-16 unit never takes more than 3 bytes of UTF-8
    this.#length += this.#buffer.write(text, this.#length, 'utf8')
  }

  /** One sample line: its prefix (`name{labels} `), the value, a newline. */
  sample (prefix: string, value: number): void {
    this.text(prefix)
    const v = formatValue(value)
    this.#reserve(v.length + 1)
    this.#length += this.#buffer.write(v, this.#length, 'latin1')
    this.#buffer[this.#length++] = 0x0a
  }

  line (text: string): void {
    this.text(text)
    this.#reserve(1)
    this.#buffer[this.#length++] = 0x0a
  }

  /**
   * The bytes written so far (UTF-8), handed over with the buffer they are in; the writer starts again empty in a new
   * buffer of the same size (uninitialised: no copy, and the next scrape does not grow it again). Bytes, not a string:
   * 5,000 routes' exposition is 16 MB, and decoding it to a string to encode it again for the response cost ~15 ms
   * each way.
   */
  take (): Buffer {
    const bytes = this.#buffer.subarray(0, this.#length)
    this.#buffer = Buffer.allocUnsafe(this.#buffer.length)
    this.#length = 0
    return bytes
  }

  #reserve (bytes: number): void {
    if (this.#length + bytes <= this.#buffer.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.#buffer.length * 2, this.#length + bytes))
    this.#buffer.copy(grown, 0, 0, this.#length)
    this.#buffer = grown
  }
}
