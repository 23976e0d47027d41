// Upstream connections that say when a reset is being handled. undici ends a close-delimited response (no
// Content-Length, not chunked: its body runs to the connection's end) normally when the connection is reset rather
// than closed (client-h1's onSocketError, a workaround for macOS). A reset is no clean close: what came before it may
// be cut short, and Linux drops what the gateway had not read yet (RFC 9112 §8: record it as incomplete; nginx cuts
// the client's response). undici hands the gateway the end inside the socket's 'error' event, synchronously, so a
// listener that runs before undici's can tell the attempt that this end is a reset.
import type { Socket } from 'node:net'
import { buildConnector } from 'undici'

let resetting: Error | undefined

/** undici's own connector for these options, with each connection's resets made visible to upstreamReset(). */
export function resetAwareConnector (options: buildConnector.BuildOptions): buildConnector.connector {
  const connect = buildConnector(options)
  return (opts, callback) => connect(opts, (err, socket) => {
    // added before undici adds its own listener, so it runs first
    socket?.on('error', noteReset)
    ;(callback as (err: Error | null, socket: Socket | null) => void)(err, socket)
  })
}

function noteReset (err: NodeJS.ErrnoException): void {
  if (err.code !== 'ECONNRESET') return
  resetting = err
  process.nextTick(clearReset)
}

function clearReset (): void { resetting = undefined }

/** The reset an upstream connection's 'error' event is being handled for right now, if any. */
export function upstreamReset (): Error | undefined { return resetting }
