// A contender under callgrind: how it is started, and the window in which its instructions are counted.
// Instrumentation is off from the start (--instr-atstart=no): start-up and warm-up run uncounted (still ~5-10×
// slower than natively, valgrind translating every block), and `callgrind_control` turns counting on and off
// around the measured requests, then dumps what was counted, one file per thread (--separate-threads=yes).
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { callCount, mergeFunctions, parseCallgrind, type FunctionCost } from './callgrind-format.ts'
import { JIT_OBJECT } from './instruction-categories.ts'
import { jitNamer, parsePerfMap } from './jit-names.ts'

/**
 * valgrind's command line, Node's follows. --smc-check=all-non-file (amd64's default, spelled out): V8 writes and
 * rewrites machine code in anonymous memory, and valgrind must notice code that changed under its translations.
 */
export function valgrindPrefix (outFile: string): string[] {
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${outFile}`]
}

/** The flag that makes Node write its JIT code's names to /tmp/perf-<pid>.map (bench/jit-names.ts reads it). */
export const PERF_MAP_FLAG = '--perf-basic-prof'

export interface ThreadCount {
  /** callgrind's thread number: 1 is the main thread (JavaScript, the event loop). */
  thread: number
  ir: number
}

/** V8's entry points of a full (mark-compact) collection and of a scavenge: their calls count the collections. */
export const FULL_GC = 'v8::internal::Heap::MarkCompact()'
export const SCAVENGE = 'v8::internal::Heap::Scavenge()'

export interface Counted {
  threads: ThreadCount[]
  total: number
  /** Full collections (mark-compact) and scavenges that ran in the window. */
  fullGcs: number
  scavenges: number
  /** Self cost by function over all threads; JIT code named from the perf map when there is one. */
  functions: FunctionCost[]
}

export class CallgrindControl {
  readonly pid: number
  readonly #outFile: string
  readonly #keep: boolean
  readonly #seen = new Set<string>()

  /** `keep`: leave the dump files where callgrind wrote them (for callgrind_annotate), else delete them once read. */
  constructor (pid: number, outFile: string, keep: boolean) {
    this.pid = pid
    this.#outFile = outFile
    this.#keep = keep
  }

  get perfMap (): string { return `/tmp/perf-${this.pid}.map` }

  instrument (on: boolean): void { this.#control(['--instr', on ? 'on' : 'off']) }

  /** Dumps what was counted since the last dump (zeroing the counters) and reads it. */
  dump (): Counted {
    this.#control(['--dump'])
    const prefix = `${basename(this.#outFile).replace('%p', String(this.pid))}.`
    const files = readdirSync(dirname(this.#outFile))
      .filter((f) => f.startsWith(prefix) && /^\d+-\d+$/.test(f.slice(prefix.length)) && !this.#seen.has(f))
      .map((f) => join(dirname(this.#outFile), f))
    if (files.length === 0) throw new Error(`callgrind wrote no dump for ${this.pid}`)
    const dumps = files.map((f) => {
      this.#seen.add(basename(f))
      const d = parseCallgrind(readFileSync(f, 'utf8'))
      if (!this.#keep) rmSync(f)
      return d
    })
    const threads = dumps.map((d) => ({ thread: d.thread, ir: d.total })).sort((a, b) => a.thread - b.thread)
    return {
      threads,
      total: threads.reduce((s, t) => s + t.ir, 0),
      fullGcs: dumps.reduce((n, d) => n + callCount(d, FULL_GC), 0),
      scavenges: dumps.reduce((n, d) => n + callCount(d, SCAVENGE), 0),
      functions: this.#named(mergeFunctions(dumps)),
    }
  }

  #named (functions: FunctionCost[]): FunctionCost[] {
    if (!existsSync(this.perfMap)) return functions
    const name = jitNamer(parsePerfMap(readFileSync(this.perfMap, 'utf8')))
    const out = new Map<string, FunctionCost>()
    for (const f of functions) {
      const js = /^0x[0-9a-f]+$/i.test(f.name) ? name(Number.parseInt(f.name, 16)) : undefined
      const named = js === undefined ? f : { name: js, object: JIT_OBJECT, self: f.self }
      const id = `${named.object}\0${named.name}`
      const seen = out.get(id)
      if (seen === undefined) out.set(id, { ...named })
      else seen.self += named.self
    }
    return [...out.values()]
  }

  #control (args: string[]): void {
    // callgrind_control talks to the process through vgdb, which waits for it to reach a safe point
    const r = spawnSync('callgrind_control', [...args, String(this.pid)], { encoding: 'utf8', timeout: 300_000 })
    if (r.status !== 0 || !/\bOK\b/.test(r.stdout)) throw new Error(`callgrind_control ${args.join(' ')} ${this.pid} failed: ${r.stdout}${r.stderr}${r.error?.message ?? ''}`)
  }
}
