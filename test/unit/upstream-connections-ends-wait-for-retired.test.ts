// src/upstream/connections.ts close() and destroy(): each resolves once every connection has closed, including one
// configure() retired (idle under replaced settings) whose Client is still closing when it is called.
import t from 'tap'
import type { Socket } from 'node:net'
import { buildConnector } from 'undici'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'

for (const end of ['close', 'destroy'] as const) {
  t.test(`${end}() right after configure() retired an idle connection waits for that connection to close`, async (t) => {
    const up = await TestUpstream.start()
    t.teardown(() => up.close())
    // the gateway side of each connection, to see when it has closed
    const open = new Set<Socket>()
    const base = buildConnector({})
    const connect: buildConnector.connector = (opts, cb) => base(opts, (err, socket) => {
      if (socket !== null) { open.add(socket as Socket); socket.once('close', () => open.delete(socket as Socket)) }
      const done = cb as (err: Error | null, socket: unknown) => void
      done(err, socket)
    })
    const pool = new TargetConnections(up.url, { connections: 2, keepAliveTimeout: 10_000, connect })
    t.teardown(() => pool.destroy())
    t.equal(await get(pool, '/a'), 200)
    await new Promise((resolve) => setImmediate(resolve)) // undici frees the connection a turn after the answer
    t.equal(open.size, 1)
    pool.configure({ connections: 2, keepAliveTimeout: 5_000, connect })
    t.equal(pool.clients, 0, 'the idle connection was retired')
    await pool[end]()
    t.equal(open.size, 0, `${end}() resolved only once the retired connection had closed`)
  })
}
