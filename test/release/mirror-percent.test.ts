// A mirror copies `percent` of a route's requests: a request is copied when the gateway's draw (in [0, 1)) times 100
// is under the percent. Every other mirror test mirrors 100%, where no draw decides: this pins the share itself, so a
// mirror set to 25% never copies more (shadow traffic costs the shadow pool, and a copy of a write is a write), and
// that 0 copies nothing and 100 everything, whatever the draw.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPlans, type PlanEvents, type RoutePlan } from '../../src/release/plans.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import { ManualClock } from '../helpers/clock.ts'

const events: PlanEvents = { fallback () {}, readToPrimary () {}, weight () {}, mirror () {}, rollback () {} }

/** The plan of a route mirrored at `percent`, drawing what `draw` holds. */
function mirrored (percent: number, draw: { value: number }): RoutePlan {
  const config = validateConfig({
    log: { level: 'silent' },
    pools: { main: { targets: ['http://127.0.0.1:1'] }, shadow: { targets: ['http://127.0.0.1:2'] } },
    routes: [{ path: '/api', pool: 'main', mirror: { pool: 'shadow', percent } }],
  })
  const plans = buildPlans(config, new RoutingTable(config.routes).routes, { secret: 's', clock: new ManualClock(), random: () => draw.value, events })
  return [...plans.values()][0]!
}

t.test('a request is copied when the draw is under the percent, not at it', async (t) => {
  const draw = { value: 0 }
  const plan = mirrored(25, draw)
  draw.value = 0.2499
  t.equal(plan.mirrorThis(), true, 'a draw of 24.99%: copied')
  draw.value = 0.25
  t.equal(plan.mirrorThis(), false, 'a draw of 25%: not copied')
  draw.value = 0.9
  t.equal(plan.mirrorThis(), false, 'a draw of 90%: not copied')
  let copied = 0
  for (let i = 0; i < 1000; i++) {
    draw.value = i / 1000
    if (plan.mirrorThis()) copied++
  }
  t.equal(copied, 250, 'draws spread evenly over [0, 1): exactly a quarter copied')
})

t.test('0% copies nothing and 100% everything, whatever the draw', async (t) => {
  const draw = { value: 0 }
  const none = mirrored(0, draw)
  const all = mirrored(100, draw)
  for (const value of [0, 0.5, 0.9999999]) {
    draw.value = value
    t.equal(none.mirrorThis(), false, `0%, draw ${value}`)
    t.equal(all.mirrorThis(), true, `100%, draw ${value}`)
  }
})
