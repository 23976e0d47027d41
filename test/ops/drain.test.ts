// Drain, enable and disable through the admin API, under load: a draining target takes no new request, its
// requests in flight finish, then it is drained; hash keys move off it and come back; and a rolling upstream deploy
// (drain → drained → replace → enable, one target at a time) fails no request.
import t from 'tap'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { failures, Load, rate, tally } from '../helpers/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'
import { httpRequest } from '../proxy/http.ts'

type Tap = Parameters<Parameters<typeof t.test>[0]>[0]

interface TargetView { id: string; state: string; inFlight: number; requests: number }
interface Setup { gw: TestGateway; admin: string; ups: TestUpstream[]; act (u: TestUpstream, action: string): Promise<TargetView>; view (u: TestUpstream): TargetView }

const idOf = (u: TestUpstream): string => `127.0.0.1:${u.port}`

async function setup (t: Tap, pool: Partial<GatewayConfig['pools'][string]> = {}): Promise<Setup> {
  const ups = await Promise.all(['u1', 'u2', 'u3'].map((name) => TestUpstream.start({ name })))
  const gw = await startGateway({ pools: { p: { targets: ups.map((u) => u.url), ...pool } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => { await Promise.all(ups.map((u) => u.close())); await gw.close() })
  const act = async (u: TestUpstream, action: string): Promise<TargetView> => {
    const res = await fetch(`${admin}/pools/p/targets/${encodeURIComponent(idOf(u))}/${action}`, { method: 'POST' })
    if (res.status !== 200) throw new Error(`${action} answered ${res.status}`)
    return ((await res.json()) as { target: TargetView }).target
  }
  const view = (u: TestUpstream): TargetView => gw.gateway.status().pools.p!.targets.find((x) => x.id === idOf(u))!
  return { gw, admin, ups, act, view }
}

t.test('drain under load: no new request, the slow ones in flight finish, draining → drained; enable and disable', async (t) => {
  const { gw, admin, ups, act, view } = await setup(t)
  const u2 = ups[1]!
  u2.delayMs = 500
  const load = Load.start({ url: gw.url, concurrency: 4, durationMs: 15_000, pauseMs: 2 })
  t.teardown(() => load.stop())
  await waitFor(() => view(u2).inFlight > 0)

  const draining = await act(u2, 'drain')
  t.equal(draining.state, 'draining', 'requests still in flight: draining')
  const sentBefore = draining.requests + draining.inFlight // every request ever given to u2, as of the drain
  t.equal(view(u2).state, 'draining', '/status agrees')
  await waitFor(() => view(u2).state === 'drained', 3000)
  t.equal(view(u2).requests, sentBefore, 'its requests in flight finished')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(u2.hits, sentBefore, 'and it got no new request')
  const { events } = (await (await fetch(`${admin}/events`)).json()) as { events: Array<{ kind: string; target?: string; pool?: string; at: string }> }
  const mine = events.filter((e) => e.target === idOf(u2))
  t.strictSame(mine.map((e) => [e.kind, e.pool]), [['drain', 'p'], ['drain', 'p']], "the feed has 'drain started' then 'target drained'")

  u2.delayMs = 0
  t.equal((await act(u2, 'enable')).state, 'healthy')
  await waitFor(() => u2.hits > sentBefore + 5, 1000)
  t.pass('traffic returns after enable')

  const disabled = await act(u2, 'disable')
  t.equal(disabled.state, 'disabled')
  const sentBeforeDisable = disabled.requests + disabled.inFlight
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.equal(u2.hits, sentBeforeDisable, 'disabled: out at once, no new request')
  t.ok(ups[0]!.hits > 0 && ups[2]!.hits > 0)

  const records = await load.stop()
  t.comment(`${records.length} requests at ${rate(records).toFixed(0)} req/s: ${JSON.stringify(tally(records))}`)
  t.strictSame(failures(records), [], 'no failed request')
})

t.test("hash balancing: a drained target's keys move to the others, the others' keys stay, and enable brings them back", async (t) => {
  const { gw, ups, act } = await setup(t, { balancer: { type: 'hash', key: 'header:x-user' } })
  const keys = Array.from({ length: 60 }, (_, i) => `user-${i}`)
  const owners = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>()
    for (const key of keys) out.set(key, (await httpRequest(`${gw.url}/x`, { headers: { 'x-user': key } })).echo().name)
    return out
  }
  const before = await owners()
  const u2Keys = keys.filter((k) => before.get(k) === 'u2')
  t.ok(u2Keys.length >= 5, `u2 owns ${u2Keys.length} of ${keys.length} keys`)

  t.equal((await act(ups[1]!, 'drain')).state, 'drained')
  const during = await owners()
  t.strictSame(u2Keys.filter((k) => during.get(k) === 'u2'), [], "every u2 key moved")
  t.strictSame(keys.filter((k) => before.get(k) !== 'u2' && during.get(k) !== before.get(k)), [], 'no other key moved')

  await act(ups[1]!, 'enable')
  t.strictSame(await owners(), before, 'enable restores the original owners')
})

t.test('a rolling upstream deploy under load (drain → drained → replace on the same port → enable) fails no request', async (t) => {
  const { gw, ups, act, view } = await setup(t)
  const replacements: TestUpstream[] = []
  t.teardown(() => Promise.all(replacements.map((u) => u.close())))
  const load = Load.start({ url: gw.url, concurrency: 4, durationMs: 20_000, pauseMs: 2 })
  t.teardown(() => load.stop())
  await waitFor(() => load.records.length > 50)

  for (const old of ups) {
    await act(old, 'drain')
    await waitFor(() => view(old).state === 'drained', 3000)
    await old.close()
    const fresh = await TestUpstream.start({ name: `${old.name}-v2`, port: old.port })
    replacements.push(fresh)
    t.equal((await act(fresh, 'enable')).state, 'healthy', `${fresh.name} enabled`)
    await waitFor(() => fresh.hits > 5, 2000)
  }
  await new Promise((resolve) => setTimeout(resolve, 100))
  const records = await load.stop()
  t.comment(`${records.length} requests at ${rate(records).toFixed(0)} req/s: ${JSON.stringify(tally(records))}`)
  t.strictSame(failures(records), [], 'no failed request')
  const answeredBy = new Set(records.map((r) => r.upstream))
  t.ok(['u1', 'u2', 'u3', 'u1-v2', 'u2-v2', 'u3-v2'].every((name) => answeredBy.has(name)), 'every old and every new upstream answered')
})
