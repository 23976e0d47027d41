// A raw HTTP/1.1 upstream for the stale-connection tests: `expire()` has every connection open now reset at its next
// byte (a NAT's or load balancer's idle expiry), new ones are served; `die()` is a pod's death (its port refusing, its
// connections reset). It reads request bodies by content-length, records the paths it read, counts the connections it
// accepted, and takes WebSocket handshakes (101, then echoes).
import { once } from 'node:events'
import { request, STATUS_CODES } from 'node:http'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import type { Tap } from '../proxy/setup.ts'

export interface ExpiringUpstreamOptions {
  /** Sent in x-upstream on every answer; none when unnamed. */
  name?: string
  /** The answer's status by request path: 200 unless said. */
  status?: (path: string) => number
  /** How long to wait before answering, by request path: 0 (at once) unless said. */
  delayMs?: (path: string) => number
  /** Called as an expired connection receives its next byte, before it resets (a test moves a clock there). */
  onExpiredByte?: () => void
  /**
   * An expired connection holds its next request (in `held`) until resetHeld() resets it, rather than resetting at
   * once: the test acts while the request is out on a dead connection.
   */
  holdExpired?: boolean
}

export interface ExpiringUpstream {
  name: string
  url: string
  /** Request lines' paths it read whole (with their bodies) and answered or switched, in order. */
  paths: string[]
  /** Connections it accepted. */
  connections (): number
  /** A middlebox's idle expiry: every connection open now is reset at its next byte; new ones are served. */
  expire (): void
  /**
   * Dies as a pod does: its port refuses connections from now on, and each connection it had is reset at its next
   * byte (the peer is gone: whatever is sent on it is answered with a reset).
   */
  die (): void
  /** Every request, on any connection, new ones too, is reset: a target that really fails. */
  resetAll: boolean
  /** An expired connection answers its next request with a 103 Early Hints, then the reset (an answer had begun). */
  hintsFirst: boolean
  /** With holdExpired: the expired connections holding a request, in the order they got it. */
  held: Socket[]
  /** Resets the held connections. */
  resetHeld (): void
}

export async function expiringUpstream (t: Tap, options: ExpiringUpstreamOptions = {}): Promise<ExpiringUpstream> {
  const { name = '', status = () => 200, delayMs = () => 0, onExpiredByte, holdExpired = false } = options
  const named = name === '' ? '' : `x-upstream: ${name}\r\n`
  let opened = 0
  let dead = false
  const sockets = new Set<Socket>()
  const expired = new WeakSet<Socket>()
  const server = createServer((socket) => {
    opened++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    let tunnel = false
    socket.on('data', (chunk: Buffer) => {
      if (expired.has(socket) && up.hintsFirst) {
        socket.write('HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n')
        setTimeout(() => socket.resetAndDestroy(), 20)
        return
      }
      if (expired.has(socket) && holdExpired) {
        if (!up.held.includes(socket)) up.held.push(socket)
        return
      }
      if (expired.has(socket)) onExpiredByte?.()
      if (dead || up.resetAll || expired.has(socket)) return socket.resetAndDestroy()
      if (tunnel) return socket.write(chunk) // a WebSocket tunnel: echoed
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0)
        if (buffered.length < end + 4 + length) return
        buffered = buffered.slice(end + 4 + length)
        const path = head.split(' ')[1]!
        up.paths.push(path)
        if (/^upgrade:\s*websocket/im.test(head)) {
          tunnel = true
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n${named}\r\n`)
          return
        }
        const code = status(path)
        const answer = (): void => { if (!socket.destroyed) socket.write(`HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\n${named}content-length: 2\r\n\r\nok`) }
        const delay = delayMs(path)
        if (delay > 0) setTimeout(answer, delay)
        else answer()
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { for (const s of sockets) s.destroy(); if (server.listening) server.close() })
  const up: ExpiringUpstream = {
    name,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    paths: [],
    connections: () => opened,
    expire: () => { for (const s of sockets) expired.add(s) },
    die: () => {
      dead = true
      // the listener closes at once (the callback would wait for the open connections): new ones are refused
      server.close()
    },
    resetAll: false,
    hintsFirst: false,
    held: [],
    resetHeld: () => { for (const s of up.held.splice(0)) s.resetAndDestroy() },
  }
  return up
}

/** A GET through `url` on a new connection: its status and the upstream that answered (x-upstream). */
export function get (url: string): Promise<{ status: number; upstream: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined }))
    }).on('error', reject).end()
  })
}

/** A WebSocket handshake through `url`: the status line's code and the upstream that answered (the socket is closed). */
export function handshake (url: string): Promise<{ status: number; upstream: string | undefined }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n')
    })
    let got = ''
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1')
      const end = got.indexOf('\r\n\r\n')
      if (end === -1) return
      socket.destroy()
      resolve({ status: Number(got.slice(9, 12)), upstream: /\r\nx-upstream: ([^\r]*)/i.exec(got.slice(0, end))?.[1] })
    })
  })
}
