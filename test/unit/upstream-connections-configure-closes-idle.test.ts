// src/upstream/connections.ts configure(): new settings (a reload) close the idle connections made under the old ones
// at once; the next request goes over a new connection made with the new settings, never an old idle one.
import t from 'tap'
import type { Socket } from 'node:net'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'

t.test('configure() closes an idle connection of the old settings; the next request opens a new one', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const sockets = new Set<Socket>()
  up.server.on('connection', (s: Socket) => { sockets.add(s) })
  const pool = new TargetConnections(up.url, { connections: 2, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  t.equal(await get(pool, '/old'), 200)
  // undici frees a connection one event-loop turn after its answer ended
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(pool.clients, 1, 'one idle kept-alive connection')
  pool.configure({ connections: 2, keepAliveTimeout: 5_000 })
  t.equal(pool.clients, 0, 'the idle connection of the replaced settings is let go at once')
  t.equal(await get(pool, '/new'), 200)
  t.equal(sockets.size, 2, 'the request after configure() went over a new connection')
  t.equal(pool.clients, 1)
})
