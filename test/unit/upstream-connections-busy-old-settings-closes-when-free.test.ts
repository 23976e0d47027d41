// src/upstream/connections.ts configure(): a connection busy when the settings were replaced finishes what it carries,
// then closes; what waits in the queue goes to a new connection made under the new settings, not to the old one.
import t from 'tap'
import type { Socket } from 'node:net'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'

t.test('after configure(), the busy old connection closes once free and the queued request opens a new one', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  up.delayMs = 30
  const sockets: Socket[] = []
  up.server.on('connection', (s: Socket) => { sockets.push(s) })
  const pool = new TargetConnections(up.url, { connections: 1, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  const arrived = new Promise<void>((resolve) => up.server.once('request', () => resolve()))
  const first = get(pool, '/old-settings')
  const second = get(pool, '/queued')
  await arrived
  t.equal(pool.queued, 1)
  pool.configure({ connections: 1, keepAliveTimeout: 5_000 })
  t.equal(pool.queued, 1, 'the limit is still taken by the busy old connection')
  t.same([await first, await second], [200, 200])
  t.equal(sockets.length, 2, 'the queued request went over a new connection')
  t.equal(pool.clients, 1, 'the old connection was let go')
})
