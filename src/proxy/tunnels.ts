// The client sockets the WebSocket path has taken over from the HTTP server (which no longer tracks them): handshakes
// still waiting for their 101, and open tunnels. Shutdown treats an open tunnel like a request in flight (it gets
// up to shutdown.timeoutMs) and closes every socket left when it is done.
import type { Duplex } from 'node:stream'

export class TunnelSet {
  readonly #sockets = new Set<Duplex>()
  readonly #open = new Set<Duplex>()
  #onIdle: (() => void) | undefined
  /** Told after each tunnel closes (on a microtask: once its target has counted it closed). */
  readonly #onClosed: (() => void) | undefined

  constructor (onClosed?: () => void) {
    this.#onClosed = onClosed
  }

  /** A socket the upgrade path took over; forgotten when it closes. */
  take (socket: Duplex): void {
    this.#sockets.add(socket)
    socket.once('close', () => {
      this.#sockets.delete(socket)
      if (!this.#open.delete(socket)) return
      if (this.#open.size === 0) this.#idle()
      if (this.#onClosed !== undefined) queueMicrotask(this.#onClosed)
    })
  }

  /** The target switched protocols: the socket is now a tunnel (until it closes). */
  opened (socket: Duplex): void {
    if (this.#sockets.has(socket)) this.#open.add(socket)
  }

  /** Tunnels open now. */
  get open (): number { return this.#open.size }

  /** Resolves once no tunnel is open. */
  idle (): Promise<void> {
    if (this.#open.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const previous = this.#onIdle
      this.#onIdle = () => { previous?.(); resolve() }
    })
  }

  /** Closes every socket taken over: handshakes and tunnels (the upstream side of a tunnel follows its client side). */
  destroyAll (): void {
    for (const socket of this.#sockets) socket.destroy()
  }

  #idle (): void {
    const onIdle = this.#onIdle
    this.#onIdle = undefined
    onIdle?.()
  }
}
