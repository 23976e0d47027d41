// Health probes after the first fall due on a grid of slots: every probe due in the same slot runs from one timer,
// so a gateway probing a thousand targets every second wakes up 50 times a second for them rather than a thousand
// (the wake-up, not the JavaScript, was most of what a probe on a kept-alive connection cost; bench/RESULTS.md).
// A probe runs up to one slot later than its jittered due time.
import type { Clock, Timer } from '../runtime.ts'

export const PROBE_SLOT_MS = 20

interface Slot { readonly timer: Timer; readonly callbacks: Set<() => void> }

export class SlotTimers {
  readonly #clock: Clock
  readonly #now: () => number
  readonly #slotMs: number
  readonly #slots = new Map<number, Slot>()

  constructor (clock: Clock, slotMs: number = PROBE_SLOT_MS) {
    this.#clock = clock
    // slots are keyed on a clock that never steps: after a wall-clock step, a slot armed before it is still due
    // when its timer says, and a probe joining it would run early or late by the step
    this.#now = clock.monotonicNow?.bind(clock) ?? clock.now.bind(clock)
    this.#slotMs = slotMs
  }

  /** Runs `callback` at the first slot boundary at least `delayMs` from now; returns what cancels it. */
  after (delayMs: number, callback: () => void): () => void {
    const now = this.#now()
    const index = Math.ceil((now + delayMs) / this.#slotMs)
    let slot = this.#slots.get(index)
    if (slot === undefined) {
      const timer = this.#clock.setTimeout(() => this.#fire(index), index * this.#slotMs - now)
      timer.unref()
      slot = { timer, callbacks: new Set() }
      this.#slots.set(index, slot)
    }
    const armed = slot
    armed.callbacks.add(callback)
    return () => {
      // a slot that has fired is out of the map, and a later one may have its index: only clear this one
      if (!armed.callbacks.delete(callback) || armed.callbacks.size > 0 || this.#slots.get(index) !== armed) return
      this.#clock.clearTimeout(armed.timer)
      this.#slots.delete(index)
    }
  }

  /** Slots with a timer armed (for tests). */
  get pending (): number { return this.#slots.size }

  /** Callbacks waiting in all slots (for tests). */
  get scheduled (): number {
    let count = 0
    for (const slot of this.#slots.values()) count += slot.callbacks.size
    return count
  }

  #fire (index: number): void {
    const slot = this.#slots.get(index)
    this.#slots.delete(index)
    if (slot !== undefined) for (const callback of slot.callbacks) callback()
  }
}

const shared = new WeakMap<Clock, SlotTimers>()

/** One grid per clock: every pool's checker shares the gateway's (a test's manual clock gets its own). */
export function slotTimersFor (clock: Clock): SlotTimers {
  let timers = shared.get(clock)
  if (timers === undefined) shared.set(clock, timers = new SlotTimers(clock))
  return timers
}
