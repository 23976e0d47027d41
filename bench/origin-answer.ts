// What the benchmark's origin answers, whichever serves it (nginx, or the Node fallback in origin.ts).
import { createServer } from 'node:net'

/** GET /: exactly 100 bytes of JSON. */
export const SMALL_JSON = '{"service":"origin","ok":true,"items":[1,2,3],"padding":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
/** POST /upload: answered once the whole body has been read. */
export const UPLOAD_PATH = '/upload'
export const UPLOAD_ANSWER = '{"received":true}'
export const HEALTH_PATH = '/health'
/** The streamed case's body, and the most the origin accepts. */
export const UPLOAD_BYTES = 1024 * 1024

/** The origin's two addresses (two ports of one server), so a pool can balance over two targets. */
export interface Origin {
  /** e.g. "nginx/1.22.1, one process". */
  description: string
  urls: [string, string]
  /** SCALE_TARGETS more addresses of the same origin (127.1.x.y on the first port), for a pool of that many targets; nginx only. */
  scaleUrls?: readonly string[]
}

/** How many distinct target addresses the scale contender's pool balances over. */
export const SCALE_TARGETS = 1000

/** The i-th extra loopback address (127.1.0.1, …, 127.1.3.250): all of 127/8 is loopback on Linux. */
export function scaleAddress (i: number): string {
  return `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`
}

/** A port nothing listens on right now (taken from the kernel, then released). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))))
    })
  })
}
