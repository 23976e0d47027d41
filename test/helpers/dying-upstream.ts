// A raw HTTP/1.1 upstream for the stale-connection tests: it counts the connections it accepts, can have every open
// connection go stale (a middlebox's idle expiry) and can die as a pod does (its port refusing, its connections reset).
// It takes WebSocket handshakes too (101, then echoes).
import { once } from 'node:events'
import { request } from 'node:http'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { Tap } from '../proxy/setup.ts'

export interface DyingUpstream {
  name: string
  url: string
  /** Connections it accepted. */
  connections (): number
  /**
   * Dies as a pod does: its port refuses connections from now on, and each connection it had is reset at its next
   * byte (the peer is gone: whatever is sent on it is answered with a reset).
   */
  die (): void
  /**
   * A middlebox's idle expiry: every connection open now is reset at its next byte; new ones are served.
   */
  expire (): void
}

/** A raw HTTP/1.1 upstream answering 200 with its name in x-upstream, counting the connections it accepted. */
export async function dyingUpstream (t: Tap, name: string): Promise<DyingUpstream> {
  let opened = 0
  let dead = false
  const sockets = new Set<Socket>()
  const expired = new WeakSet<Socket>()
  const server: Server = createServer((socket) => {
    opened++
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffered = ''
    let tunnel = false
    socket.on('data', (chunk: Buffer) => {
      if (dead || expired.has(socket)) return socket.resetAndDestroy()
      if (tunnel) return socket.write(chunk) // a WebSocket tunnel: echoed
      buffered += chunk.toString('latin1')
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end)
        buffered = buffered.slice(end + 4)
        if (/\r\nupgrade:\s*websocket/i.test(head)) {
          tunnel = true
          socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nx-upstream: ${name}\r\n\r\n`)
          return
        }
        socket.write(`HTTP/1.1 200 OK\r\nx-upstream: ${name}\r\ncontent-length: 2\r\n\r\nok`)
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => { for (const s of sockets) s.destroy(); if (server.listening) server.close() })
  return {
    name,
    url,
    connections: () => opened,
    expire: () => { for (const s of sockets) expired.add(s) },
    die: () => {
      dead = true
      // the listener closes at once (the callback would wait for the open connections): new ones are refused
      server.close()
    },
  }
}

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
