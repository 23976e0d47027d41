// Request-body chunks are freed right after undici has written them, only when that write completed at once.
import { channel } from 'node:diagnostics_channel'
import t from 'tap'
import { ownsItsBuffer, reclaimSent, unwatchUpload, watchUpload } from '../../src/proxy/reclaim.ts'

const sendHeaders = channel('undici:client:sendHeaders')
/** A chunk as Node's HTTP parser hands it over: the whole of its own buffer. */
const ownChunk = (bytes: number): Buffer<ArrayBuffer> => Buffer.from(new ArrayBuffer(bytes))

t.test('a chunk is freed when the upstream socket has nothing queued after its write', async (t) => {
  const body = {}
  const socket = { writableLength: 0, destroyed: false }
  watchUpload()
  t.teardown(unwatchUpload)
  sendHeaders.publish({ request: { body }, headers: '', socket })
  const sent = ownChunk(64 * 1024)
  reclaimSent(body, sent)
  t.equal(sent.buffer.detached, true)

  socket.writableLength = 1024
  const queued = ownChunk(64 * 1024)
  reclaimSent(body, queued)
  t.equal(queued.buffer.detached, false, 'a write still queued on the socket keeps its chunk')
})

t.test('only chunks that own their whole buffer, large enough to matter, on a known socket', async (t) => {
  t.equal(ownsItsBuffer(ownChunk(16 * 1024)), true)
  t.equal(ownsItsBuffer(ownChunk(1024)), false, 'small')
  t.equal(ownsItsBuffer(Buffer.from(new ArrayBuffer(64 * 1024), 1024, 32 * 1024)), false, 'a view into a larger buffer')
  t.equal(ownsItsBuffer(Buffer.allocUnsafe(100)), false, "Buffer's shared pool")
  const unknown = ownChunk(64 * 1024)
  reclaimSent({}, unknown)
  t.equal(unknown.buffer.detached, false, 'a body whose socket undici never named')
  // subscribed only while uploads are in flight
  watchUpload()
  unwatchUpload()
  t.equal(sendHeaders.hasSubscribers, false)
})

// Overlapping uploads share one subscription: it ends with the last of them, never left on for every later request.
t.test('overlapping uploads: unsubscribed once the last one ends', async (t) => {
  watchUpload()
  watchUpload()
  unwatchUpload()
  t.equal(sendHeaders.hasSubscribers, true, 'one upload still in flight')
  unwatchUpload()
  t.equal(sendHeaders.hasSubscribers, false, 'none left')
})

// While an upload is watched, every request undici sends passes by: one without a body (null), or with a buffered
// one, is not an upload and is ignored (never a throw in the channel, which would surface as an uncaught exception).
t.test('requests without a streamed body are ignored while an upload is watched', async (t) => {
  watchUpload()
  t.teardown(unwatchUpload)
  const socket = { writableLength: 0, destroyed: false }
  sendHeaders.publish({ request: { body: null }, headers: '', socket })
  const buffered = ownChunk(64 * 1024)
  sendHeaders.publish({ request: { body: buffered }, headers: '', socket })
  reclaimSent(buffered, buffered)
  t.equal(buffered.buffer.detached, false, 'a buffered body is never taken for a streamed one')
  await new Promise((resolve) => setImmediate(resolve))
  t.pass('no error from the channel')
})

// Only a chunk that is the whole of its own buffer, and large, is freed: a view at the start of a larger buffer
// (the rest of it may hold other bytes) and a small chunk are left to the GC, even once their write completed.
t.test('a view at the start of a larger buffer, or a small chunk, is never freed', async (t) => {
  const body = {}
  const socket = { writableLength: 0, destroyed: false }
  watchUpload()
  t.teardown(unwatchUpload)
  sendHeaders.publish({ request: { body }, headers: '', socket })
  const view = Buffer.from(new ArrayBuffer(64 * 1024), 0, 32 * 1024)
  t.equal(ownsItsBuffer(view), false)
  reclaimSent(body, view)
  t.equal(view.buffer.detached, false, 'the rest of the buffer is still readable')
  const small = ownChunk(1024)
  reclaimSent(body, small)
  t.equal(small.buffer.detached, false, 'small chunks are left to the GC')
})

// A chunk whose upstream socket was destroyed may never have been written: it is not freed on that socket's word.
t.test('a chunk is not freed once the upstream socket is destroyed', async (t) => {
  const body = {}
  const socket = { writableLength: 0, destroyed: true }
  watchUpload()
  t.teardown(unwatchUpload)
  sendHeaders.publish({ request: { body }, headers: '', socket })
  const chunk = ownChunk(64 * 1024)
  reclaimSent(body, chunk)
  t.equal(chunk.buffer.detached, false)
})

// The threshold is RECLAIM_MIN_BYTES (16 KiB) exactly: a chunk one byte short of it is left to the GC.
t.test('a chunk just under RECLAIM_MIN_BYTES is not freed', async (t) => {
  t.equal(ownsItsBuffer(ownChunk(16 * 1024 - 1)), false)
  t.equal(ownsItsBuffer(ownChunk(8 * 1024)), false)
})
