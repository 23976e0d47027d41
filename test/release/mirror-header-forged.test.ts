// x-switchyard-mirror is the gateway's own header: a client's never reaches an upstream, so the primary cannot be
// told a request is a shadow copy, and a copy carries the gateway's value alone.
import t from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { httpRequest } from '../proxy/http.ts'
import { gateway, upstream } from '../proxy/setup.ts'

/** Every x-switchyard-mirror line an upstream received, as sent. */
function mirrorValues (raw: string[]): string[] {
  const values: string[] = []
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'x-switchyard-mirror') values.push(raw[i + 1]!)
  return values
}

t.test("a client's x-switchyard-mirror reaches neither the primary nor the mirror", async (t) => {
  const v1 = await upstream(t, 'v1')
  const shadow = await upstream(t, 'shadow')
  const gw = await gateway(t, {
    log: { level: 'silent' },
    pools: { main: { targets: [v1.url] }, shadow: { targets: [shadow.url] } },
    routes: [{ path: '/', pool: 'main', mirror: { pool: 'shadow' } }],
  }, { defaultMetrics: false })
  const res = await httpRequest(`${gw.url}/pay`, { method: 'POST', body: 'x', headers: { 'x-switchyard-mirror': '0', 'X-Switchyard-Mirror': '1' } })
  t.equal(res.status, 200)
  await waitFor(() => shadow.requests.length === 1)
  t.strictSame(mirrorValues(v1.requests[0]!.rawHeaders), [], 'the primary gets none')
  t.strictSame(mirrorValues(shadow.requests[0]!.rawHeaders), ['1'], "the copy carries the gateway's one value")
})
