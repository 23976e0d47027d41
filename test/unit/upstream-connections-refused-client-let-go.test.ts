// src/upstream/connections.ts: a client whose connection could not be made is closed and let go (as undici's Pool does,
// nodejs/undici#3895), not kept as a free client without a connection; the next request makes a new one.
import t from 'tap'
import { TargetConnections } from '../../src/upstream/connections.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { get } from './connections-get.ts'

t.test('refused connections leave no client held; the target serves again once it listens', async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const port = up.port
  await up.refuse()
  const pool = new TargetConnections(`http://127.0.0.1:${port}`, { connections: 2, keepAliveTimeout: 10_000 })
  t.teardown(() => pool.destroy())
  t.same(await Promise.all([get(pool, '/a'), get(pool, '/b')]), ['ECONNREFUSED', 'ECONNREFUSED'])
  t.equal(pool.clients, 0, 'both failed clients were let go')
  await up.listen(port)
  t.equal(await get(pool, '/c'), 200)
  t.equal(pool.clients, 1)
})
