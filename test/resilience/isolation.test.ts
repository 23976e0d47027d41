// Pools are isolated: a broken /payment (hanging or refusing targets) costs /member nothing.
import t from 'tap'
import type { Test } from 'tap'
import { waitFor } from '../helpers/gateway.ts'
import { call, gateway, median, runtime, upstreams, type Reply } from './_util.ts'

type T = Test

async function setup (t: T) {
  const [p1, p2] = await upstreams(t, 2, 'p')
  const [m1, m2] = await upstreams(t, 2, 'm')
  const gw = await gateway(t, {
    pools: {
      payment: { targets: [p1!.url, p2!.url], timeouts: { requestMs: 3000 } },
      member: { targets: [m1!.url, m2!.url] },
    },
    routes: [{ path: '/payment', pool: 'payment' }, { path: '/member', pool: 'member' }],
  }, [p1!, p2!, m1!, m2!])
  return { p1: p1!, p2: p2!, m1: m1!, m2: m2!, gw }
}

/** 60 member requests: 20 one after another, then 2 batches of 20 at once. */
async function memberLoad (base: string): Promise<Reply[]> {
  const out: Reply[] = []
  for (let i = 0; i < 20; i++) out.push(await call(base, `/member/profile/${i}`))
  for (let b = 0; b < 2; b++) out.push(...await Promise.all(Array.from({ length: 20 }, (_, i) => call(base, `/member/list/${b}/${i}`))))
  return out
}

function checkMember (t: T, gw: Awaited<ReturnType<typeof setup>>['gw'], replies: readonly Reply[]): void {
  t.same(replies.filter((r) => r.status !== 200).map((r) => r.status), [], `all ${replies.length} member requests succeeded`)
  const sequential = replies.slice(0, 20).map((r) => r.ms)
  const med = median(sequential)
  t.comment(`member median ${med.toFixed(1)} ms (sequential), slowest of all ${Math.max(...replies.map((r) => r.ms)).toFixed(0)} ms`)
  // fast-ish: one process runs clients, gateway and upstreams, so only gross slowdowns are caught
  t.ok(med < 500, 'member stays fast (sequential median)')
  t.ok(Math.max(...replies.map((r) => r.ms)) < 1000, 'no member request waits anywhere near payment\'s 3 s deadline')
  const member = runtime(gw, 'member')
  t.equal(member.breaker.state, 'closed')
  t.equal(member.budget.rejected, 0)
  t.equal(member.pool.available().length, 2)
}

t.test('payment targets all hang: member keeps 100% success while payment requests are stuck', async (t) => {
  const { p1, p2, gw } = await setup(t)
  p1.mode = 'hang'
  p2.mode = 'hang'
  let settled = 0
  const payment = Promise.all(Array.from({ length: 30 }, (_, i) => call(gw.url, `/payment/charge/${i}`).finally(() => { settled++ })))
  await waitFor(() => p1.hits + p2.hits >= 30)
  // a burst first, checked while every payment request still hangs; the rest may outlast payment's 3 s deadline on
  // a loaded machine (it did at load 9 on 2 cores), and each of its requests is held to 1 s below
  const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => call(gw.url, `/member/burst/${i}`)))
  t.equal(settled, 0, 'the burst was answered while the payment requests were all still hanging')
  const member = await memberLoad(gw.url)
  checkMember(t, gw, [...member, ...burst])
  const paid = await payment
  // timed-out attempts also trip payment's own breaker, so a retry may be turned away as circuit_open
  t.same(paid.filter((r) => r.error !== 'upstream_timeout' && r.error !== 'circuit_open').map((r) => r.status), [],
    'payment answers 504 upstream_timeout (or 503 circuit_open once its breaker tripped)')
  t.equal(runtime(gw, 'member').breaker.state, 'closed')
})

t.test('payment targets refuse connections under load: member keeps 100% success', async (t) => {
  const { p1, p2, gw } = await setup(t)
  await Promise.all([p1.refuse(), p2.refuse()])
  let stop = false
  const paymentStatuses: number[] = []
  const paymentLoad = (async () => {
    while (!stop) {
      const batch = await Promise.all(Array.from({ length: 10 }, () => call(gw.url, '/payment/charge')))
      paymentStatuses.push(...batch.map((r) => r.status))
    }
  })()
  try {
    await waitFor(() => paymentStatuses.length >= 20)
    const member = await memberLoad(gw.url)
    checkMember(t, gw, member)
  } finally {
    stop = true
    await paymentLoad
  }
  t.same(paymentStatuses.filter((s) => s < 500), [], 'payment failed throughout')
  t.ok(paymentStatuses.length >= 20)
})
