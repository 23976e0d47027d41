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
