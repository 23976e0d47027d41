// What one load run asks for and what it measured, whichever generator ran it (wrk, or autocannon as fallback).

export interface LoadRequest {
  url: string
  connections: number
  seconds: number
  /** A request body (sent with POST), else GET without a body. */
  body?: { bytes: number; contentType: string }
  /** CPU the generator is pinned to. */
  cpu: number
}

export interface LoadResult {
  /** Responses completed. */
  requests: number
  /** Measured wall time, seconds. */
  seconds: number
  requestsPerSecond: number
  p99Ms: number
  /** Answers outside 2xx/3xx (wrk cannot tell 3xx from 2xx; nothing here answers 3xx). */
  non2xx: number
  /** Connect, read and write errors and timeouts. */
  socketErrors: number
}

export type LoadGenerator = (request: LoadRequest) => Promise<LoadResult>
