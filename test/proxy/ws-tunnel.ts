// An open WebSocket tunnel through a gateway, driven with raw bytes: the test upstream echoes every byte after its
// 101, so one round trip proves both directions work. `closed` resolves when the client's socket closes (the
// gateway closed it, or the test did); the socket is destroyed in teardown.
import type { Socket } from 'node:net'
import type { HasTeardown } from './setup.ts'
import { rawHandshake, readBytes } from './raw.ts'

export interface Tunnel {
  readonly socket: Socket
  readonly requestId: string
  /** Resolves once the client's socket has closed. */
  readonly closed: Promise<void>
  isClosed (): boolean
  /** Writes a message and resolves once it has come back whole (rejects if the tunnel closes first). */
  roundTrip (text?: string): Promise<void>
}

let seq = 0

export function wsHandshake (path: string, requestId: string): string {
  return [
    `GET ${path} HTTP/1.1`, 'Host: chat.example', 'Connection: Upgrade', 'Upgrade: websocket',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', `X-Request-Id: ${requestId}`, '', '',
  ].join('\r\n')
}

/** Opens a tunnel (throws unless the gateway answers 101) and checks one round trip. */
export async function openTunnel (t: HasTeardown, port: number, path = '/ws', requestId = `ws-${++seq}`): Promise<Tunnel> {
  const { response, socket, rest } = await rawHandshake(port, wsHandshake(path, requestId))
  t.teardown(() => socket.destroy())
  if (response.status !== 101) {
    socket.destroy()
    throw new Error(`upgrade answered ${response.status}`)
  }
  if (rest.length > 0) throw new Error('bytes after the 101 before any were sent')
  let isClosed = false
  const closed = new Promise<void>((resolve) => socket.once('close', () => { isClosed = true; resolve() }))
  socket.on('error', () => {})
  let n = 0
  const tunnel: Tunnel = {
    socket,
    requestId,
    closed,
    isClosed: () => isClosed,
    async roundTrip (text = `${requestId} message ${++n}`) {
      const bytes = Buffer.from(text)
      socket.write(bytes)
      const back = await readBytes(socket, bytes.length)
      if (!back.equals(bytes)) throw new Error(`echo mismatch: ${back.toString()}`)
    },
  }
  await tunnel.roundTrip()
  return tunnel
}
