// Answer heads waiting for their first body byte (src/proxy/attempt.ts holds a head so that a body failing on its
// first read is answered 502 rather than an empty reply). An answer whose body is slow to start (SSE, long-poll)
// must not keep its head back from the client meanwhile: nginx and HAProxy pass a head on as it comes. One timer for
// a clock's held heads (all of a gateway's pools share one), not one per request: a head goes out alone after
// HEAD_WAITS_MS to twice that.
import type { Clock, Timer } from '../runtime.ts'

/** Long enough for a first read that fails (it comes with the head, or just after) to be seen first. */
export const HEAD_WAITS_MS = 50

export interface HoldsHead {
  /** Sends the head now, alone (called once, unless released before). */
  sendHeldHead (): void
}

export class HeldHeads {
  readonly #clock: Clock
  /** Held since the timer was last armed, and held before that: the older go out at the next tick. */
  #newer = new Set<HoldsHead>()
  #older = new Set<HoldsHead>()
  #timer: Timer | undefined

  constructor (clock: Clock) {
    this.#clock = clock
  }

  hold (holder: HoldsHead): void {
    this.#newer.add(holder)
    this.#timer ??= this.#clock.setTimeout(() => this.#tick(), HEAD_WAITS_MS)
  }

  /** Its head went out with its first body bytes, or the answer failed: nothing to send. */
  release (holder: HoldsHead): void {
    if (!this.#newer.delete(holder)) this.#older.delete(holder)
    // nothing held: no timer left running (one at a time, requests arm and clear it; under load it stays armed)
    if (this.#newer.size === 0 && this.#older.size === 0 && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer)
      this.#timer = undefined
    }
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
