// Upstream connections that say when a reset is being handled, and give up connecting on time. undici ends a
// close-delimited response (no Content-Length, not chunked: its body runs to the connection's end) normally when the
// connection is reset rather than closed (client-h1's onSocketError, a workaround for macOS). A reset is no clean
// close: what came before it may be cut short, and Linux drops what the gateway had not read yet (RFC 9112 §8:
// record it as incomplete; nginx cuts the client's response). undici hands the gateway the end inside the socket's
// 'error' event, synchronously, so a listener that runs before undici's can tell the attempt that this end is a reset.
import type { Socket } from 'node:net'
import { buildConnector, errors } from 'undici'
import { CONNECT_PHASE } from '../resilience/classify.ts'

let resetting: Error | undefined

/**
 * undici's own connector for these options, with each connection's resets made visible to upstreamReset(), and
 * its connect timeout (TCP and TLS together) kept by a timer of its own: undici's runs on its coarse timers, which
 * fire up to a second late (connectMs 100 gave up after ~1.05 s, 1000 after ~1.5 s). One timer per new connection,
 * never per request.
 */
export function resetAwareConnector (options: buildConnector.BuildOptions): buildConnector.connector {
  const timeoutMs = options.timeout ?? 10_000
  const servername = (options as { servername?: string }).servername
  // undici's connector returns the socket it is connecting (its type says void)
  const connect = buildConnector({ ...options, timeout: 0 }) as unknown as (opts: buildConnector.Options, callback: buildConnector.Callback) => Socket
  return (opts, callback) => {
    let timer: NodeJS.Timeout | undefined
    let settled = false
    // The TLS name is the target's (options.servername; none for an IP address, which is then what the certificate
    // is checked against), never one a request carries: undici names a request by its Host header when it has no
    // name of its own, and a client would pick the name the upstream's certificate is checked against.
    const socket = connect({ ...opts, servername }, (err, socket) => {
      settled = true
      clearTimeout(timer)
      // no request was written on a connection that failed to set up: a connect failure whatever its code
      if (err !== null && typeof err === 'object') (err as Error & { [CONNECT_PHASE]?: true })[CONNECT_PHASE] = true
      // added before undici adds its own listener, so it runs first
      socket?.on('error', onSocketError)
      ;(callback as (err: Error | null, socket: Socket | null) => void)(err, socket)
    })
    if (timeoutMs > 0 && !settled) timer = setTimeout(giveUp, timeoutMs, socket, `${opts.hostname}:${opts.port}`, timeoutMs)
    return socket
  }
}

/** The connect took too long: undici's own connector reports the socket's error as the connect's failure. */
function giveUp (socket: Socket, address: string, timeoutMs: number): void {
  socket.destroy(new errors.ConnectTimeoutError(`Connect Timeout Error (attempted address: ${address}, timeout: ${timeoutMs}ms)`))
}

/**
 * Marks a reset for undici's listener (noteReset), then ends the connection once every listener has run. Node emits
 * a TLS socket's failures on an open connection (a record it cannot decrypt, an alert: ERR_SSL_…) without
 * destroying it, and undici fails the request on a connection only at its 'close': that request would wait for a
 * timer, and an idle connection would stay in the pool for the next request to fail on. undici has recorded the
 * error by then, so the request fails with it. A socket already destroyed (a reset) is left as it is.
 */
function onSocketError (this: Socket, err: NodeJS.ErrnoException): void {
  noteReset(err)
  process.nextTick(destroySocket, this)
}

function destroySocket (socket: Socket): void { socket.destroy() }

function noteReset (err: NodeJS.ErrnoException): void {
  if (err.code !== 'ECONNRESET') return
  resetting = err
  process.nextTick(clearReset)
}

function clearReset (): void { resetting = undefined }

/** The reset an upstream connection's 'error' event is being handled for right now, if any. */
export function upstreamReset (): Error | undefined { return resetting }
