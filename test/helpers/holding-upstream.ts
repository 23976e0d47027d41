// An upstream for pipelining tests: records the requests it gets, in order, and holds /hold/* (and /stream/*, after
// a first part of its body) until release(); anything else is answered `answered <url>` at once. Closed in teardown.
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface HoldingUpstream {
  url: string
  /** `METHOD /url` of each request, in arrival order. */
  seen: string[]
  /** Ends every held answer with `released`. */
  release: () => void
}

export async function holdingUpstream (t: { teardown (fn: () => Promise<void>): void }): Promise<HoldingUpstream> {
  const seen: string[] = []
  const held: ServerResponse[] = []
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    req.resume()
    req.once('end', () => {
      if (req.url?.startsWith('/hold/') === true) held.push(res)
      else if (req.url?.startsWith('/stream/') === true) { res.write('partial '); held.push(res) }
      else res.end(`answered ${req.url}`)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const release = (): void => { for (const res of held.splice(0)) res.end('released') }
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, release }
}
