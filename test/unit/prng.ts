// Test helpers: a seeded PRNG (mulberry32) so random balancers are exact, plus small candidate/tally utilities.
import type { Candidate } from '../../src/balancer/types.ts'

/** mulberry32: a tiny, well-distributed 32-bit PRNG. Returns floats in [0, 1), like Math.random. */
export function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A random source that replays the given values in order and fails the test if asked for more. */
export function sequence (...values: number[]): () => number {
  let i = 0
  return () => {
    if (i >= values.length) throw new Error(`random source exhausted after ${values.length} values`)
    return values[i++]!
  }
}

/** A random source that must never be called. */
export function noRandom (): number {
  throw new Error('random source must not be consulted here')
}

export interface TestCandidate extends Candidate {
  url: string
  weight: number
  inFlight: number
}

export function candidate (url: string, weight = 1, inFlight = 0): TestCandidate {
  return { url, weight, inFlight }
}

/** Candidates named by their urls, e.g. candidates({ a: 3, b: 1 }). */
export function candidates (weights: Record<string, number>): TestCandidate[] {
  return Object.entries(weights).map(([url, weight]) => candidate(url, weight))
}

/** Counts picks per url. */
export function tally (urls: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const u of urls) out[u] = (out[u] ?? 0) + 1
  return out
}

/** Each url's expected share of the total weight. */
export function weightShares (cs: readonly Candidate[]): Record<string, number> {
  const total = cs.reduce((s, c) => s + c.weight, 0)
  return Object.fromEntries(cs.map((c) => [c.url, c.weight / total]))
}
