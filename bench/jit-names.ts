// Names for the code callgrind cannot name. V8's JIT code (and its builtins' copy in the code range) lies in
// anonymous memory, so callgrind calls each block of it "0x…". Node started with --perf-basic-prof writes
// /tmp/perf-<pid>.map, a line per code object as it is created: "<start hex> <size hex> <name>". The last line
// covering an address names the code there now (code freed by the GC may be replaced at the same address).

export interface CodeRange {
  start: number
  end: number
  name: string
}

export function parsePerfMap (text: string): CodeRange[] {
  const ranges: CodeRange[] = []
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line)
    if (!m) continue
    const start = Number.parseInt(m[1]!, 16)
    ranges.push({ start, end: start + Number.parseInt(m[2]!, 16), name: m[3]! })
  }
  return ranges
}

/** A lookup from an address to the name of the code that covers it, the latest line winning; undefined if none does. */
export function jitNamer (ranges: readonly CodeRange[]): (address: number) => string | undefined {
  // sorted by start, each keeping its line number: an address's candidates are the ranges starting at or below it
  const sorted = ranges.map((r, line) => ({ ...r, line })).sort((a, b) => a.start - b.start)
  const longest = sorted.reduce((m, r) => Math.max(m, r.end - r.start), 0)
  return (address) => {
    let lo = 0
    let hi = sorted.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (sorted[mid]!.start <= address) lo = mid + 1
      else hi = mid
    }
    let best: (typeof sorted)[number] | undefined
    // no range longer than `longest` can reach the address from further below
    for (let i = lo - 1; i >= 0 && sorted[i]!.start > address - longest - 1; i--) {
      const r = sorted[i]!
      if (address < r.end && (best === undefined || r.line > best.line)) best = r
    }
    return best?.name
  }
}
