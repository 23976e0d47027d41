// A parser refusal's access-log line names the client in clientIp as a request's line does, on a dual-stack listener
// too (review r41f): there an IPv4 client's socket address is IPv4-mapped (::ffff:127.0.0.1), which a request's line
// gives as 127.0.0.1; a refusal's line giving the mapped form would be missed by the same query on clientIp (the
// point of a681408). test/admin/metrics-refusals.test.ts listens on 127.0.0.1, where both forms are one.
import { Writable } from 'node:stream'
import t from 'tap'
import { buildGateway } from '../../src/app.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { waitFor, type LogRecord } from '../helpers/gateway.ts'
import { rawConnection } from '../helpers/raw-connection.ts'
import { TestUpstream } from '../helpers/upstream.ts'

t.test("on a dual-stack listener a parser refusal's clientIp is a request's", async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  t.teardown(() => u.close())
  const logs: LogRecord[] = []
  const logStream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as LogRecord)
      cb()
    },
  })
  const gateway = buildGateway(validateConfig({ log: { level: 'info' }, pools: { p: { targets: [u.url] } }, routes: [{ path: '/api', pool: 'p' }] }), { logStream, defaultMetrics: false })
  t.teardown(() => gateway.close())
  const port = Number(new URL(await gateway.listen({ host: '::', port: 0 })).port)
  const requests = (): LogRecord[] => logs.filter((l) => l.msg === 'request')

  const send = async (bytes: string): Promise<void> => {
    const c = rawConnection(t, port) // to 127.0.0.1: an IPv4 client of the dual-stack listener
    await c.connected
    c.socket.write(bytes)
    await Promise.race([c.closed, waitFor(() => c.received().includes('\r\n\r\n'), 5000)])
    c.socket.destroy()
  }
  await send('GET /api HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  await send('GET /api HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n')
  await waitFor(() => requests().length === 2)
  const routed = requests().find((l) => l.requestId !== undefined)
  const refused = requests().find((l) => l.requestId === undefined)
  t.equal(routed?.status, 200)
  t.equal(refused?.status, 400)
  t.equal(routed?.clientIp, '127.0.0.1', "the request's line: the IPv4 address")
  t.equal(refused?.clientIp, routed?.clientIp, "the refusal's line: the same")
})
