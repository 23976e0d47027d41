// Steady client load while operators act: a few loops, each on its own kept-alive connection, sending idempotent
// GETs to every route and some POSTs, each with its own x-request-id. Nothing is retried: every failure shows.
import { Agent, request } from 'node:http'
import { mulberry32 } from '../../unit/prng.ts'

export type RouteName = 'shop' | 'api' | 'extra'

export interface ClientRecord {
  id: string
  route: RouteName
  method: 'GET' | 'POST'
  /** Date.now() when sent, and when the answer (or error) was complete. */
  startedAt: number
  endedAt: number
  status?: number
  /** The upstream that answered (its x-upstream header). */
  upstream?: string
  /** The gateway's error code, for its JSON error answers. */
  errorCode?: string
  /** A client-side error (no answer): ECONNRESET, timeout, … */
  error?: string
}


export class ClientLoad {
  readonly records: ClientRecord[] = []
  readonly #agents: Agent[] = []
  readonly #loops: Promise<void>[] = []
  #stopped = false

  constructor (url: string, options: { loops: number; seed: number; tag: string }) {
    for (let loop = 0; loop < options.loops; loop++) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 })
      this.#agents.push(agent)
      this.#loops.push(this.#run(url, agent, mulberry32(options.seed + loop), `${options.tag}-${loop}`))
    }
  }

  /** Stops sending; resolves once every request in flight has ended. */
  async stop (): Promise<ClientRecord[]> {
    this.#stopped = true
    await Promise.all(this.#loops)
    for (const agent of this.#agents) agent.destroy()
    return this.records
  }

  async #run (url: string, agent: Agent, random: () => number, tag: string): Promise<void> {
    for (let seq = 0; !this.#stopped; seq++) {
      const r = random()
      const route: RouteName = r < 0.45 ? 'shop' : r < 0.85 ? 'api' : 'extra'
      const method = route === 'api' && random() < 0.25 ? 'POST' : 'GET'
      // mostly quick answers, some slow enough to be in flight when a drain, a reload or a kill lands
      const d = random()
      const delay = d < 0.8 ? 0 : d < 0.95 ? Math.floor(random() * 10) : 40 + Math.floor(random() * 60)
      const user = `user-${Math.floor(random() * 20)}`
      const record = await send(url, agent, { id: `${tag}-${seq}`, route, method, path: `/${route}/item?d=${delay}`, user })
      this.records.push(record)
      await new Promise((resolve) => setTimeout(resolve, record.error !== undefined ? 10 : 2))
    }
  }
}

export interface SendOptions { id: string; route: RouteName; method: 'GET' | 'POST'; path: string; user?: string; headers?: Record<string, string> }

export function send (url: string, agent: Agent | false, o: SendOptions): Promise<ClientRecord> {
  const body = o.method === 'POST' ? '{"order":1}' : undefined
  const headers: Record<string, string> = { 'x-request-id': o.id, ...(o.user ? { 'x-user': o.user } : {}), ...o.headers }
  if (body !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(body.length)
  }
  const record: ClientRecord = { id: o.id, route: o.route, method: o.method, startedAt: Date.now(), endedAt: 0 }
  return new Promise((resolve) => {
    const req = request(`${url}${o.path}`, { method: o.method, agent, headers, timeout: 8000 }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.once('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }))
      res.once('end', () => {
        const upstream = res.headers['x-upstream']
        let errorCode: string | undefined
        if (upstream === undefined) {
          try { errorCode = (JSON.parse(Buffer.concat(chunks).toString()) as { error?: string }).error } catch { errorCode = 'unparsed' }
        }
        finish({ status: res.statusCode ?? 0, ...(typeof upstream === 'string' ? { upstream } : {}), ...(errorCode !== undefined ? { errorCode } : {}) })
      })
    })
    let done = false
    const finish = (fields: Partial<ClientRecord>): void => {
      if (done) return
      done = true
      resolve({ ...record, ...fields, endedAt: Date.now() })
    }
    req.once('timeout', () => { req.destroy(); finish({ error: 'timeout' }) })
    req.once('error', (err: NodeJS.ErrnoException) => finish({ error: err.code ?? err.message }))
    req.end(body)
  })
}
