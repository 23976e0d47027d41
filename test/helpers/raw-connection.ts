// A raw keep-alive TCP connection for tests that must control exactly when bytes go out (shutdown, handover): what
// it received, whether it was reset, and when it closed. Destroyed in teardown.
import { connect } from 'node:net'

export interface RawConnection {
  readonly socket: ReturnType<typeof connect>
  readonly connected: Promise<void>
  readonly closed: Promise<void>
  /** Whether the connection has closed (for waitFor, which polls). */
  isClosed (): boolean
  /** Everything received so far (since the last reset()), as latin1. */
  received (): string
  reset (): void
  /** The socket error's code, if there was one (e.g. ECONNRESET). */
  error (): string | undefined
}

export function rawConnection (t: { teardown (fn: () => void): void }, port: number): RawConnection {
  const socket = connect(port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  let data = ''
  let error: string | undefined
  let isClosed = false
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', (err: NodeJS.ErrnoException) => { error = err.code })
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()))
  const closed = new Promise<void>((resolve) => socket.once('close', () => { isClosed = true; resolve() }))
  return { socket, connected, closed, isClosed: () => isClosed, received: () => data, reset: () => { data = '' }, error: () => error }
}
