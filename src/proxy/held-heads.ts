// Answer heads waiting for their first body byte (src/proxy/attempt.ts holds a head so that a body failing on its
// first read is answered 502 rather than an empty reply). An answer whose body is slow to start (SSE, long-poll)
// must not keep its head back from the client meanwhile: nginx and HAProxy pass a head on as it comes. Nearly every
// answer's first body bytes come in the read its head came in: those are let go at no cost beyond a set's add and
// delete. A head still held when that turn of the event loop ends waits in one timer for a clock's held heads (all of
// a gateway's pools share one), not one per request, and goes out alone HEAD_WAITS_MS to twice that later. (A timer
// armed and cleared per request cost ~10,000 instructions a request: bench/instructions.ts.)
import type { Clock, Timer } from '../runtime.ts'

/** Long enough for a first read that fails (it comes with the head, or just after) to be seen first. */
export const HEAD_WAITS_MS = 50

export interface HoldsHead {
  /** Sends the head now, alone (called once, unless released before). */
  sendHeldHead (): void
}

export class HeldHeads {
  readonly #clock: Clock
  /** Held in this turn of the event loop, and whether its end is awaited. */
  #fresh = new Set<HoldsHead>()
  #turnEnding = false
  /** Held since the timer was last armed, and held before that: the older go out at the next tick. */
  #newer = new Set<HoldsHead>()
  #older = new Set<HoldsHead>()
  #timer: Timer | undefined

  constructor (clock: Clock) {
    this.#clock = clock
  }

  hold (holder: HoldsHead): void {
    this.#fresh.add(holder)
    if (this.#turnEnding) return
    this.#turnEnding = true
    setImmediate(this.#afterTurn)
  }

  /** Its head went out with its first body bytes, or the answer failed: nothing to send. */
  release (holder: HoldsHead): void {
    if (!this.#fresh.delete(holder) && !this.#newer.delete(holder)) this.#older.delete(holder)
    // nothing waits: no timer left running
    if (this.#timer !== undefined && this.#newer.size === 0 && this.#older.size === 0) {
      this.#clock.clearTimeout(this.#timer)
      this.#timer = undefined
    }
  }

  readonly #afterTurn = (): void => {
    this.#turnEnding = false
    if (this.#fresh.size === 0) return
    for (const holder of this.#fresh) this.#newer.add(holder)
    this.#fresh.clear()
    this.#timer ??= this.#clock.setTimeout(() => this.#tick(), HEAD_WAITS_MS)
  }

  #tick (): void {
    this.#timer = undefined
    const due = this.#older
    this.#older = this.#newer
    // a fresh set (not `due` again): a head held while these go out must not be lost with them
    this.#newer = new Set()
    for (const holder of due) holder.sendHeldHead() // each releases itself
    if (this.#older.size > 0) this.#timer = this.#clock.setTimeout(() => this.#tick(), HEAD_WAITS_MS)
  }
}

const byClock = new WeakMap<Clock, HeldHeads>()

/** The held heads of the pools that run on this clock. */
export function heldHeadsOf (clock: Clock): HeldHeads {
  let heads = byClock.get(clock)
  if (heads === undefined) byClock.set(clock, heads = new HeldHeads(clock))
  return heads
}
