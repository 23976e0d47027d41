// A split route falling back (its reads found no replica that answered) turns back only after reads a replica
// answered. A replica's error answer that goes to the client as it is (a read whose body was streamed cannot go on to
// the primary, so the replica's 503 is the answer) is no replica answering: it must not count toward ending the
// fallback state. (src/proxy/attempt.ts, onResponseStart: `if (this.#atReplica && result.failure === undefined)`.)
import t from 'tap'
import { DEFAULT_FALLBACK_STREAK } from '../../src/release/plans.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('replica 503s passed on to streamed reads do not end the fallback state', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  replica.failCount = 1000 // every read: 503
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: {
      primary: { targets: [primary.url], retry: { attempts: 1 } },
      // bodies over 16 bytes stream: such a read cannot be sent again, to the primary or anywhere
      replicas: { targets: [replica.url], retry: { attempts: 1, maxBufferBytes: 16 }, outlier: { enabled: false }, circuitBreaker: { enabled: false } },
    },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET', 'POST'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const fallback = (): boolean | undefined => gw.gateway.status().routes[0]!.reads?.fallback

  for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) {
    const res = await httpRequest(`${gw.url}/m/${i}`)
    t.equal(res.echo().name, 'primary', `read ${i}: the replica failed it, the primary served it`)
  }
  t.equal(fallback(), true, 'falling back')

  for (let i = 0; i < DEFAULT_FALLBACK_STREAK; i++) {
    const res = await httpRequest(`${gw.url}/m/search`, { method: 'POST', body: 'a streamed read body, longer than sixteen bytes' })
    t.equal(res.status, 503, `streamed read ${i}: the replica's 503, passed on`)
  }
  t.equal(replica.requests.filter((r) => r.method === 'POST').length, DEFAULT_FALLBACK_STREAK, 'the replica had every streamed read')
  t.equal(fallback(), true, 'still falling back: no replica answered')
})
