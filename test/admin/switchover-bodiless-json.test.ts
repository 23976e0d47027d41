// POST /pools/:pool/switchover with no body means "to the backups" (README), also when the caller labels its empty
// body (curl -X POST -H 'content-type: application/json', a client library's default; curl -d '' labels it a form);
// Fastify's parsers refused those 400. A body of JSON null or "" says nothing and is refused 400 bad_request like
// {}, never taken for no body: a script whose variable came out empty must not move a pool's traffic.
import t, { type Test } from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const JSON_TYPE = { 'content-type': 'application/json' }

/** A gateway whose pool pay has a primary and a backup, and its admin API's URL. */
async function primaryAndBackup (t: Test) {
  const [p1, b1] = await Promise.all([TestUpstream.start({ name: 'p1' }), TestUpstream.start({ name: 'b1' })])
  const config: GatewayConfig = { pools: { pay: { targets: [p1.url, { url: b1.url, backup: true }] } }, routes: [{ path: '/', pool: 'pay' }] }
  const gw = await startGateway(config, { defaultMetrics: false, env: {}, load: async () => validateConfig(config) })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await gw.close(); await p1.close(); await b1.close() })
  return { gw, admin }
}

t.test('an empty JSON body is bodiless; null and {} are refused and move nothing', async (t) => {
  const { gw, admin } = await primaryAndBackup(t)

  for (const body of ['null', '""', '{}', '"backup"']) {
    const res = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body, headers: JSON_TYPE })
    t.equal(res.status, 400, `body ${body}`)
    t.equal((await res.json() as { error: string }).error, 'bad_request')
    t.match(gw.gateway.status().pools.pay, { activeTier: 'primary', switchover: 'auto' }, `body ${body} moved nothing`)
  }

  const res = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', headers: JSON_TYPE })
  t.equal(res.status, 200, 'empty body labelled JSON')
  t.match(gw.gateway.status().pools.pay, { activeTier: 'backup', switchover: 'manual' })

  const bad = await fetch(`${admin}/pools/pay/failback`, { method: 'POST', body: '{"to":', headers: JSON_TYPE })
  t.equal(bad.status, 400, 'a body that is not JSON is still refused')
  t.equal((await bad.json() as { error: string }).error, 'bad_request')
  t.match(gw.gateway.status().pools.pay, { activeTier: 'backup' }, 'and moved nothing')
})

t.test('an empty body under any label is no body; a non-empty one of another type is refused', async (t) => {
  const { gw, admin } = await primaryAndBackup(t)
  for (const type of ['application/x-www-form-urlencoded', 'application/octet-stream', 'text/plain']) {
    const moved = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '', headers: { 'content-type': type } })
    t.equal(moved.status, 200, `switchover, empty ${type}`)
    t.match(gw.gateway.status().pools.pay, { activeTier: 'backup' })
    const back = await fetch(`${admin}/pools/pay/failback`, { method: 'POST', body: '', headers: { 'content-type': type } })
    t.equal(back.status, 200, `failback, empty ${type}`)
    t.match(gw.gateway.status().pools.pay, { activeTier: 'primary' })
  }
  const other = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: 'to=backup', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(other.status, 400, 'a form with content')
  t.equal((await other.json() as { error: string }).error, 'bad_request')
  t.match(gw.gateway.status().pools.pay, { activeTier: 'primary' }, 'moved nothing')
  // a call that reads no body still refuses one it cannot read, text included: one rule for every type but JSON
  t.equal((await fetch(`${admin}/pools/pay/switchover`, { method: 'POST' })).status, 200)
  for (const type of ['text/plain', 'application/octet-stream']) {
    const res = await fetch(`${admin}/pools/pay/failback`, { method: 'POST', body: 'x', headers: { 'content-type': type } })
    t.equal(res.status, 400, `failback with a ${type} body`)
    t.equal((await res.json() as { error: string }).error, 'bad_request')
    t.match(gw.gateway.status().pools.pay, { activeTier: 'backup' }, 'moved nothing')
  }
})

// A JSON body is read as Fastify reads one, prototype keys refused (`__proto__`, `constructor.prototype`): such a body
// is refused 400 bad_request and the call changes nothing, even when the rest of it is a valid action. Reading them
// as plain keys would let a crafted body through to the handlers (and any code that later merges it).
t.test('a JSON body with a prototype key is refused and moves nothing', async (t) => {
  const { gw, admin } = await primaryAndBackup(t)
  for (const body of ['{"to":"backup","__proto__":{"x":1}}', '{"to":"backup","constructor":{"prototype":{"x":1}}}']) {
    const res = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body, headers: JSON_TYPE })
    t.equal(res.status, 400, body)
    t.equal((await res.json() as { error: string }).error, 'bad_request')
    t.match(gw.gateway.status().pools.pay, { activeTier: 'primary', switchover: 'auto' }, `${body} moved nothing`)
  }
  const ok = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '{"to":"backup"}', headers: JSON_TYPE })
  t.equal(ok.status, 200, 'the same action without them is taken')
})

// A structured +json type (RFC 6839 §3.1: application/merge-patch+json, a JSON:API client's application/vnd.api+json)
// is JSON: read as application/json is, prototype keys refused as there. It was refused 400 as a body the admin API
// could not read.
t.test('a body of a +json type is read as JSON', async (t) => {
  const { gw, admin } = await primaryAndBackup(t)
  for (const type of ['application/merge-patch+json', 'application/vnd.api+json; charset=utf-8']) {
    const moved = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '{"to":"backup"}', headers: { 'content-type': type } })
    t.equal(moved.status, 200, type)
    t.match(gw.gateway.status().pools.pay, { activeTier: 'backup' }, `${type} moved the pool`)
    t.equal((await fetch(`${admin}/pools/pay/failback`, { method: 'POST' })).status, 200)
  }
  const proto = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '{"to":"backup","__proto__":{"x":1}}', headers: { 'content-type': 'application/merge-patch+json' } })
  t.equal(proto.status, 400, 'a prototype key is refused there too')
  t.equal((await proto.json() as { error: string }).error, 'bad_request')
  const notJson = await fetch(`${admin}/pools/pay/switchover`, { method: 'POST', body: '{"to":"backup"}', headers: { 'content-type': 'application/jsonx' } })
  t.equal(notJson.status, 400, 'a type that only starts like JSON is not JSON')
  t.match(gw.gateway.status().pools.pay, { activeTier: 'primary' }, 'and moved nothing')
})
