// Consistent hashing keeps a key on its home target until that target is added, removed or goes unhealthy. A
// kept-alive connection of the home that died while idle (a NAT's or load balancer's idle expiry: the next request
// on one is reset before any byte of an answer) is none of those: before, the stale try excluded the home as if it
// had failed, and the try after it was hashed to another target (cache locality and session affinity lost after each
// idle expiry). Now the try after a stale connection goes back to the key's home, on a new connection.
import { request } from 'node:http'
import t from 'tap'
import { expiringUpstream } from '../helpers/expiring-upstream.ts'
import { waitFor } from '../helpers/gateway.ts'
import { gateway } from './setup.ts'

/** The name of the upstream that answered `user`'s GET. */
function servedBy (url: string, user: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers: { 'x-user': user } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200 ? String(res.headers['x-upstream']) : `status ${res.statusCode}`))
    }).on('error', reject).end()
  })
}

const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']

t.test("a key whose home target's idle connections died is still served by its home", async (t) => {
  const ups = [await expiringUpstream(t, { name: 'h1' }), await expiringUpstream(t, { name: 'h2' }), await expiringUpstream(t, { name: 'h3' })]
  const gw = await gateway(t, {
    pools: { h: { targets: ups.map((u) => u.url), balancer: { type: 'hash', key: 'header:x-user' }, retry: { backoff: { baseMs: 1, maxMs: 2 } } } },
    routes: [{ path: '/', pool: 'h' }],
  }, { defaultMetrics: false })
  const homes = new Map<string, string>()
  for (const user of USERS) homes.set(user, await servedBy(`${gw.url}/learn`, user))
  for (const user of USERS) t.equal(await servedBy(`${gw.url}/learn`, user), homes.get(user), `${user}: the same home twice`)
  t.ok(new Set(homes.values()).size > 1, `the keys spread over several targets (${[...homes.values()].join(', ')})`)

  for (const user of USERS) {
    const home = ups.find((u) => u.name === homes.get(user))!
    // a kept-alive connection at the home (the last stale try closed its idle ones), then its idle expiry
    t.equal(await servedBy(`${gw.url}/again`, user), home.name, `${user}: served by its home before the expiry`)
    home.expire()
    const path = `/after-${user}`
    t.equal(await servedBy(`${gw.url}${path}`, user), home.name, `${user}: served by its home ${home.name} after its stale connection`)
    await waitFor(() => gw.accessLogs().some((l) => l.path === path))
    t.match(gw.accessLogs().find((l) => l.path === path), { status: 200, attempts: 2, targets: [home.url, home.url] }, `${user}: a stale try, then one on a new connection, both at home`)
  }
  t.notOk(gw.logs.some((l) => /target ejected|circuit breaker open/.test(l.msg)), 'no target ejected, no breaker opened')
})
