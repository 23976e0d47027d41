// One scriptable DNS server for discovery tests: a real UDP server (dns2) on 127.0.0.1, port 0.
// Records are set per name (A and AAAA); it can answer SERVFAIL or stay silent (hang), for every query
// or for one type, or stop listening (the port then refuses) and come back on the same port.
import type { AddressInfo } from 'node:net'
import dns2 from 'dns2'

const { Packet, UDPServer } = dns2

// dns2's typings omit Packet.RCODE; these are the RFC 1035 §4.1.1 values.
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const

export type DnsMode = 'answer' | 'servfail' | 'hang'

export interface DnsRecords {
  a?: readonly string[]
  aaaa?: readonly string[]
}

export interface DnsQuery {
  name: string
  type: 'A' | 'AAAA' | 'other'
}

export class TestDnsServer {
  readonly queries: DnsQuery[] = []
  /** How the server treats every query… */
  mode: DnsMode = 'answer'
  /** …unless this says otherwise for the query's type. */
  modeFor: { A?: DnsMode; AAAA?: DnsMode } = {}
  /** TTL (seconds) of every record served. */
  ttl = 5
  /** Delay before each answer (a slow resolver), in ms. */
  delayMs = 0
  port = 0
  readonly #records = new Map<string, DnsRecords>()
  #socket: InstanceType<typeof UDPServer> | undefined

  static async start (): Promise<TestDnsServer> {
    const server = new TestDnsServer()
    await server.#listen(0)
    return server
  }

  /** host:port, as a resolver's server list takes it. */
  get address (): string { return `127.0.0.1:${this.port}` }

  /** Serves these records for `name` (a missing family answers NOERROR with no records). */
  set (name: string, records: DnsRecords): void {
    this.#records.set(normalise(name), records)
  }

  /** Forgets `name`: it answers NXDOMAIN. */
  delete (name: string): void {
    this.#records.delete(normalise(name))
  }

  count (name: string, type: DnsQuery['type']): number {
    const wanted = normalise(name)
    return this.queries.filter((q) => q.name === wanted && q.type === type).length
  }

  /** Stops listening: queries to the port are refused (ICMP port unreachable). */
  async stop (): Promise<void> {
    const socket = this.#socket
    this.#socket = undefined
    if (socket === undefined) return
    await new Promise<void>((resolve) => socket.close(() => resolve()))
  }

  /** Listens again on the same port after stop(). */
  restore (): Promise<void> { return this.#listen(this.port) }

  close (): Promise<void> { return this.stop() }

  async #listen (port: number): Promise<void> {
    const socket = new UDPServer({ type: 'udp4' })
    socket.on('request', (request, send) => this.#handle(request, send))
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, '127.0.0.1', () => {
        socket.off('error', reject)
        resolve()
      })
    })
    this.#socket = socket
    this.port = (socket.address() as AddressInfo).port
  }

  #handle (request: dns2.Packet, send: (response: dns2.Packet) => Promise<Buffer>): void {
    const question = request.questions[0]
    if (question === undefined) return
    const name = normalise(question.name)
    const type = question.type === Packet.TYPE.A ? 'A' : question.type === Packet.TYPE.AAAA ? 'AAAA' : 'other'
    this.queries.push({ name, type })
    const mode = (type === 'other' ? undefined : this.modeFor[type]) ?? this.mode
    if (mode === 'hang') return

    const response = Packet.createResponseFromRequest(request)
    response.header.aa = 1
    response.header.ra = 1
    const records = this.#records.get(name)
    if (mode === 'servfail') response.header.rcode = RCODE.SERVFAIL
    else if (records === undefined) response.header.rcode = RCODE.NXDOMAIN
    else {
      const addresses = type === 'A' ? records.a : type === 'AAAA' ? records.aaaa : undefined
      for (const address of addresses ?? []) {
        response.answers.push(Packet.createResourceFromQuestion(question, { type: question.type, class: Packet.CLASS.IN, ttl: this.ttl, address }))
      }
    }
    // a closed socket (stop() racing an answer) just drops it, as a dead server would
    if (this.delayMs > 0) setTimeout(() => { send(response).catch(() => {}) }, this.delayMs)
    else send(response).catch(() => {})
  }
}

function normalise (name: string): string {
  return name.toLowerCase().replace(/\.$/, '')
}
