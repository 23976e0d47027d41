// Reading callgrind's output files (https://valgrind.org/docs/manual/cl-format.html) for bench/instructions.ts:
// the total of a dump, and each function's self cost. Only what callgrind 3.x writes with `positions: line` and
// one event (Ir) is handled: a cost line is "<position> <Ir>", positions possibly relative ("+3", "-2", "*").

export interface FunctionCost {
  /** The function's name as callgrind gives it: a symbol, or "0x…" (the address of code with no symbol: JIT code). */
  name: string
  /** The object file it is in ("" when callgrind knows none, as for JIT code). */
  object: string
  /** Instructions executed in the function itself, not in what it called. */
  self: number
}

/** Calls from one function to another: how many, and what they cost in all (the callee and what it called). */
export interface CallArc {
  caller: string
  callee: string
  count: number
  inclusive: number
}

export interface CallgrindDump {
  /** The "totals:" line (the sum of every self cost), or that sum when the line is missing. */
  total: number
  /** "thread: N" of the header (1 is the main thread); 1 when the file holds all threads. */
  thread: number
  functions: FunctionCost[]
  /** Every call arc, by caller and callee name (objects left out: a name is one function in practice). */
  calls: CallArc[]
}

/**
 * One dump file. Names are compressed: "(7) name" defines id 7 and "(7)" refers to it, in one table for ob=/cob=,
 * one for fl=/fi=/fe=/cfi=/cfl= and one for fn=/cfn=. The cost line after a "calls=" line is the inclusive cost of
 * that call, part of the caller's inclusive cost but not of its self cost.
 */
export function parseCallgrind (text: string): CallgrindDump {
  const names = { ob: new Map<string, string>(), fn: new Map<string, string>() }
  const self = new Map<string, FunctionCost>()
  const arcs = new Map<string, CallArc>()
  let callee = ''
  let pendingCall: CallArc | undefined
  let object = ''
  let fn = ''
  let current: FunctionCost | undefined
  let afterCalls = false // the next cost line is a call's
  let totals: number | undefined
  let thread = 1
  let sum = 0
  const named = (table: Map<string, string>, value: string): string => {
    const m = /^\((\d+)\)(?:\s+(.*))?$/.exec(value.trim())
    if (!m) return value.trim()
    if (m[2] !== undefined) table.set(m[1]!, m[2])
    return table.get(m[1]!) ?? `(${m[1]})`
  }
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    const key = eq > 0 && /^[a-z]+$/.test(line.slice(0, eq)) ? line.slice(0, eq) : undefined
    if (key !== undefined) {
      const value = line.slice(eq + 1)
      if (key === 'ob') object = named(names.ob, value)
      else if (key === 'cob') named(names.ob, value)
      else if (key === 'fn') {
        fn = named(names.fn, value)
        const id = `${object}\0${fn}`
        current = self.get(id)
        if (current === undefined) self.set(id, current = { name: fn, object, self: 0 })
      } else if (key === 'cfn') callee = named(names.fn, value)
      else if (key === 'calls') {
        const id = `${fn}\0${callee}`
        pendingCall = arcs.get(id)
        if (pendingCall === undefined) arcs.set(id, pendingCall = { caller: fn, callee, count: 0, inclusive: 0 })
        pendingCall.count += Number(value.trim().split(/\s+/)[0])
        afterCalls = true
      }
      // fl=, fi=, fe=, cfi=, cfl=, jump=, jcnd=: files and jumps, which self cost per function does not need
      continue
    }
    const header = /^([a-z]+):\s*(.*)$/.exec(line)
    if (header) {
      if (header[1] === 'totals') totals = Number(header[2]!.trim().split(/\s+/)[0])
      else if (header[1] === 'thread') thread = Number(header[2])
      continue
    }
    const cost = /^(?:[+-]?\d+|\*|0x[0-9a-f]+)\s+(\d+)/i.exec(line)
    if (!cost) continue
    if (afterCalls) {
      afterCalls = false
      pendingCall!.inclusive += Number(cost[1])
      continue
    }
    if (current === undefined) throw new Error(`a cost line before any fn=: ${line}`)
    const ir = Number(cost[1])
    current.self += ir
    sum += ir
  }
  return { total: totals ?? sum, thread, functions: [...self.values()].filter((f) => f.self > 0), calls: [...arcs.values()] }
}

/** Self costs of several dumps (e.g. one per thread) added up by function. */
export function mergeFunctions (dumps: readonly CallgrindDump[]): FunctionCost[] {
  const merged = new Map<string, FunctionCost>()
  for (const d of dumps) {
    for (const f of d.functions) {
      const id = `${f.object}\0${f.name}`
      const m = merged.get(id)
      if (m === undefined) merged.set(id, { ...f })
      else m.self += f.self
    }
  }
  return [...merged.values()]
}

/** How many times `callee` was called, over all its callers. */
export function callCount (dump: CallgrindDump, callee: string): number {
  return dump.calls.reduce((n, a) => (a.callee === callee ? n + a.count : n), 0)
}

