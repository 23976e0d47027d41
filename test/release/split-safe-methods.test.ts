// Only a write pins a client's reads to the primary. A safe method (RFC 9110 §9.2.1: OPTIONS, TRACE; the IANA
// registry's PROPFIND, REPORT, SEARCH, QUERY) that is not in reads.methods still goes to the primary, but changes
// nothing there, so it answers without the sy_rw cookie. Before, every method outside reads.methods counted as a
// write: a CORS preflight (OPTIONS) pinned a browser's reads to the primary.
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

t.test('safe methods outside reads.methods go to the primary and pin nothing; other methods pin', async (t) => {
  const [primary, replica] = await Promise.all([TestUpstream.start({ name: 'primary' }), TestUpstream.start({ name: 'replica' })])
  t.teardown(() => Promise.all([primary.close(), replica.close()]))
  const gw = await startGateway({
    secret: 'a-shared-secret-of-32-characters!!',
    pools: { primary: { targets: [primary.url] }, replicas: { targets: [replica.url] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: 'replicas', methods: ['GET'] } }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  // [method, served by, pins]
  const cases: [string, string, boolean][] = [
    ['GET', 'replica', false],
    ['HEAD', 'primary', false], // left out of reads.methods: to the primary, still safe
    ['OPTIONS', 'primary', false],
    ['TRACE', 'primary', false],
    ['PROPFIND', 'primary', false],
    ['REPORT', 'primary', false],
    ['SEARCH', 'primary', false],
    ['QUERY', 'primary', false],
    ['POST', 'primary', true],
    ['PUT', 'primary', true],
    ['PATCH', 'primary', true],
    ['DELETE', 'primary', true],
  ]
  for (const [method, where, pins] of cases) {
    const before = primary.hits
    const res = await httpRequest(`${gw.url}/m/1`, { method, ...(method === 'GET' || method === 'HEAD' ? {} : { body: '{}' }) })
    t.equal(res.status, 200, method)
    t.equal(primary.hits > before ? 'primary' : 'replica', where, `${method} served by the ${where}`)
    t.equal(res.headers['set-cookie']?.some((c) => c.startsWith('sy_rw=')) ?? false, pins, `${method} ${pins ? 'pins' : 'pins nothing'}`)
    t.equal(res.headers['x-read-after-write'] !== undefined, pins)
  }
})
