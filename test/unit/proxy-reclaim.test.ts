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
