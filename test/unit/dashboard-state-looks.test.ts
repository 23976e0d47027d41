// Every state the dashboard shows has a word, an icon and a tone (ok / warn / bad / off), and the tone decides its
// colour: a state that needs action must never be drawn in the all-good tone, nor a trouble in the merely-warn one.
import t from 'tap'
import { CIRCUIT_LOOK, lookOf, TIER_LOOK } from '../../src/admin/dashboard/labels.ts'

t.test('the tone of every target, breaker and tier state', async (t) => {
  const targets: [string, string][] = [
    ['healthy', 'ok'], ['unhealthy', 'bad'], ['ejected', 'bad'], ['lagging', 'warn'], ['draining', 'warn'], ['drained', 'off'], ['disabled', 'off'],
    ['something-new', 'warn'],
  ]
  for (const [state, tone] of targets) t.equal(lookOf(state).tone, tone, state)
  t.same(lookOf('something-new'), { label: 'something-new', icon: '?', tone: 'warn' }, 'an unknown state keeps its own word')
  t.same(Object.fromEntries(Object.entries(CIRCUIT_LOOK).map(([k, v]) => [k, v.tone])), { closed: 'ok', 'half-open': 'warn', open: 'bad' })
  t.same(Object.fromEntries(Object.entries(TIER_LOOK).map(([k, v]) => [k, v.tone])), { primary: 'ok', backup: 'warn', none: 'bad' })
})
