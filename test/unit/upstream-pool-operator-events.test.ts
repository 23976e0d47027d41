// The pool's events for an operator's switchover and failback (src/upstream/pool.ts switchover(), failback(),
// #operatorMoved): an ejection that ran out while no timer fired yet ends first, as its own status event (the target
// is back before the operator's action moves traffic onto it, not after); then the tier change the action made,
// flagged byOperator; then the 'operator' event with where traffic is now and where it was. The event feed drops
// byOperator tier changes and tells the action from the 'operator' event, so its `previous` must be the tier before.
import t from 'tap'
import { buildPool } from './config-fixtures.ts'

t.test("switchover: a run-out ejection ends first, then the tier change by the operator, then 'operator'", async (t) => {
  const f = buildPool(['p1', 'b1'])
  t.teardown(() => f.pool.close())
  const { b1 } = f.byName
  f.pool.setStatus(b1!, { ejectedUntil: f.clock.now() + 1000 })
  t.equal(f.pool.tier, 'primary')
  const events: string[] = []
  f.pool.on('status', (target, status) => events.push(`status ${target === b1 ? 'b1' : 'p1'} ejectedUntil=${status.ejectedUntil}`))
  f.pool.on('tier', (tier, previous, byOperator) => events.push(`tier ${previous}->${tier} byOperator=${byOperator}`))
  f.pool.on('operator', (to, tier, previous) => events.push(`operator to=${to} ${previous}->${tier}`))
  f.clock.set(f.clock.now() + 2000) // the ejection ran out; its timer has not fired
  f.pool.switchover()
  t.strictSame(events, [
    'status b1 ejectedUntil=0',
    'tier primary->backup byOperator=true',
    'operator to=backup primary->backup',
  ])

  events.length = 0
  f.pool.switchover()
  t.strictSame(events, ['operator to=backup backup->backup'], 'asked again: no tier change, traffic was there already')
})

t.test("failback under failback 'manual': a run-out ejection ends first (held, no tier change), then the operator's", async (t) => {
  const f = buildPool(['p1', 'b1'], { failback: 'manual' })
  t.teardown(() => f.pool.close())
  const { p1 } = f.byName
  f.pool.setStatus(p1!, { ejectedUntil: f.clock.now() + 1000 })
  t.equal(f.pool.tier, 'backup')
  t.equal(f.pool.hold, 'failover')
  const events: string[] = []
  f.pool.on('status', (target, status) => events.push(`status ${target === p1 ? 'p1' : 'b1'} ejectedUntil=${status.ejectedUntil}`))
  f.pool.on('tier', (tier, previous, byOperator) => events.push(`tier ${previous}->${tier} byOperator=${byOperator}`))
  f.pool.on('operator', (to, tier, previous) => events.push(`operator to=${to} ${previous}->${tier}`))
  f.clock.set(f.clock.now() + 2000)
  f.pool.failback()
  t.strictSame(events, [
    'status p1 ejectedUntil=0',
    'tier backup->primary byOperator=true',
    'operator to=primary backup->primary',
  ])
  t.equal(f.pool.hold, undefined)
})

t.test('a tier change health makes is not flagged byOperator, even under an armed switchover', async (t) => {
  const f = buildPool(['p1', 'b1'])
  t.teardown(() => f.pool.close())
  const { b1 } = f.byName
  f.pool.switchover()
  const tiers: [string, string, boolean][] = []
  f.pool.on('tier', (tier, previous, byOperator) => tiers.push([tier, previous, byOperator]))
  f.pool.setStatus(b1!, { healthy: false })
  f.pool.setStatus(b1!, { healthy: true })
  t.strictSame(tiers, [['primary', 'backup', false], ['backup', 'primary', false]])
})
