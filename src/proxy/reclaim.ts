// Gives a streamed body's buffers back to the allocator as soon as their bytes are in the kernel.
//
// Every socket read is a fresh buffer (up to 64 KiB) that is dead once written on, but its memory is freed only
// when V8 collects its small on-heap wrapper. Streaming allocates almost nothing on V8's heap, so collections
// come late: V8 lets ~64 MiB of dead buffers pile up (its external-memory limit) before it collects. Detaching a
// buffer (ArrayBuffer.prototype.transfer(0)) frees its memory at once. It is done only where nothing can read
// the buffer again: the proxy owns it whole, and the write that used it has completed. This holds for HTTP/1.1
// upstreams, where every socket read is its own buffer (undici runs with allowH2: false, src/upstream/target.ts);
// over HTTP/2, Node hands out views into a session buffer that several streams share, which must never be freed.
import type { Socket } from 'node:net'
import { subscribe, unsubscribe } from 'node:diagnostics_channel'

/** Smaller chunks are left to the GC: they are the small bodies of ordinary requests. */
export const RECLAIM_MIN_BYTES = 16 * 1024

/**
 * Frees a buffer's memory now; every view of it reads as empty afterwards. Node's shared Buffer pool is the one
 * buffer that must stay: Buffer.concat and allocUnsafe carve chunks under half of Buffer.poolSize out of it (a
 * socket read of several pieces buffered while the upstream was paused is one), and it holds other buffers'
 * bytes. Node marks it untransferable, so V8 refuses to detach it: it is left to the GC.
 */
export function release (buffer: ArrayBufferLike): void {
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return
  try {
    buffer.transfer(0)
  } catch { /* not detachable: Node's Buffer pool */ }
}

/**
 * A chunk that is the whole of its own buffer (Node's HTTP parser copies each request-body chunk into one) and
 * large enough to matter. A view into a shared buffer (Buffer's 8 KiB pool, a read that held more) never is.
 */
export function ownsItsBuffer (chunk: Buffer): boolean {
  return chunk.length >= RECLAIM_MIN_BYTES && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length
}

// Request bodies: undici writes each chunk with socket.write() and then reports it (onBodySent). Whether that
// write completed at once (nothing left queued on the socket) can be read off the upstream socket, which
// undici names when it sends a request's headers. Subscribed only while a streamed upload is in flight.
const upstreamSockets = new WeakMap<object, Socket>()
let uploads = 0
const onSendHeaders = (message: unknown): void => {
  const { request, socket } = message as { request: { body?: unknown }; socket: Socket }
  const body = request.body
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body)) upstreamSockets.set(body, socket)
}

/** An attempt with a streamed body starts: learn which socket undici writes it on. */
export function watchUpload (): void {
  if (uploads++ === 0) subscribe('undici:client:sendHeaders', onSendHeaders)
}

export function unwatchUpload (): void {
  if (--uploads === 0) unsubscribe('undici:client:sendHeaders', onSendHeaders)
}

/** After undici has written `chunk` of `body`: frees it if the write completed and nothing else holds it. */
export function reclaimSent (body: object, chunk: Buffer): void {
  if (!ownsItsBuffer(chunk)) return
  const socket = upstreamSockets.get(body)
  if (socket !== undefined && socket.writableLength === 0 && !socket.destroyed) release(chunk.buffer)
}
