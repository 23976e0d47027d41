// The pods behind the discovered name: one node:http server per loopback address (127.0.0.2, .3, …), all on one
// port, as the pods of a headless Service are. Each records the requests it got (x-request-id, when), the health
// probes it answered, and its open sockets; its /health answers 503 while it is told to be unhealthy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface Arrival {
  at: number
  id: string
}

export class Pod {
  readonly address: string
  readonly server: Server
  readonly arrivals: Arrival[] = []
  probes = 0
  /** /health answers 503 while set (traffic is still answered: the verdict is the checks' to give). */
  unhealthy = false
  readonly #sockets = new Set<Socket>()

  constructor (address: string) {
    this.address = address
    this.server = createServer((req, res) => this.#handle(req, res))
    this.server.keepAliveTimeout = 30_000
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  get openSockets (): number { return this.#sockets.size }
  /** Listening (a killed pod refuses connections until restarted on its address and port). */
  alive = false

  listen (port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, this.address, () => {
        this.server.off('error', reject)
        this.alive = true
        resolve((this.server.address() as AddressInfo).port)
      })
    })
  }

  /** Stops listening and drops every connection (the pod died; its address stays in DNS until the answer changes). */
  close (): Promise<void> {
    this.alive = false
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    for (const s of this.#sockets) s.destroy()
    return closed
  }

  /** Listens again on its address and port (retried: the port was just released). */
  async restart (port: number): Promise<void> {
    for (let i = 0; ; i++) {
      try {
        await this.listen(port)
        return
      } catch (err) {
        if (i >= 20) throw err
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
  }

  #handle (req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    if (req.url === '/health') {
      this.probes++
      res.writeHead(this.unhealthy ? 503 : 200, { 'content-length': '0' }).end()
      return
    }
    this.arrivals.push({ at: Date.now(), id: String(req.headers['x-request-id'] ?? '') })
    // a little work, so requests overlap the DNS changes and reloads instead of all landing between them
    const answer = (): void => { if (!res.destroyed) res.writeHead(200, { 'content-length': '2', 'x-upstream': this.address }).end('ok') }
    setTimeout(answer, 2)
  }
}

/** One pod per address on one shared port (the first bind picks it; retried from scratch if another is taken). */
export async function startPods (addresses: readonly string[]): Promise<Map<string, Pod>> {
  for (let attempt = 0; ; attempt++) {
    const pods = new Map<string, Pod>()
    try {
      let port = 0
      for (const address of addresses) {
        const pod = new Pod(address)
        pods.set(address, pod)
        port = await pod.listen(port)
      }
      return pods
    } catch (err) {
      await Promise.all([...pods.values()].map((p) => p.close()))
      if (attempt >= 5) throw err
    }
  }
}

export function portOf (pods: ReadonlyMap<string, Pod>): number {
  return (pods.values().next().value!.server.address() as AddressInfo).port
}
