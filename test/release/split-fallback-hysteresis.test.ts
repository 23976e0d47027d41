// A split route's fallback state (logged, in the event feed and /status) turns on only after DEFAULT_FALLBACK_STREAK
// reads in a row found no replica that answered (at once when none was available at admission), and off only after
// as many replica answers in a row. Before, it flipped on every read: one replica failing every other read made
// 199 log lines and feed events out of 200 reads, pushing everything else out of the 200-event feed.
// A reload that rebuilds the plans keeps the state while the read pool stays: before, it was reset to "not falling
// back" while the replicas were still down, and the next read logged a second "on" with no "off" between.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { buildPlans, DEFAULT_FALLBACK_STREAK, type PlanEvents, type RoutePlan } from '../../src/release/plans.ts'
import { RoutingTable } from '../../src/routing/table.ts'
import { ManualClock } from '../helpers/clock.ts'

const N = DEFAULT_FALLBACK_STREAK

function split (readPool = 'replicas') {
  const config = validateConfig({
    log: { level: 'silent' },
    secret: 'a-shared-secret-of-32-characters!!',
    pools: { primary: { targets: ['http://127.0.0.1:1'] }, replicas: { targets: ['http://127.0.0.1:2'] }, others: { targets: ['http://127.0.0.1:3'] } },
    routes: [{ path: '/m', pool: 'primary', reads: { pool: readPool } }],
  })
  return { config, routes: new RoutingTable(config.routes).routes }
}

function recorder (): { changes: boolean[]; events: PlanEvents } {
  const changes: boolean[] = []
  return { changes, events: { fallback: (_route, active) => { changes.push(active) }, readToPrimary () {}, weight () {}, mirror () {}, rollback () {} } }
}

const planOf = (plans: Map<unknown, RoutePlan>): RoutePlan => [...plans.values()][0]!

t.test('a replica failing every other read changes nothing; a streak either way does, once', async (t) => {
  const { config, routes } = split()
  const { changes, events } = recorder()
  const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
  for (let i = 0; i < 200; i++) {
    if (i % 2 === 0) plan.readToPrimary('fallback')
    else plan.replicaAnswered()
  }
  t.strictSame(changes, [], 'flapping: no change reported')
  t.equal(plan.fallback, false)
  for (let i = 0; i < N - 1; i++) plan.readToPrimary('fallback')
  plan.readToPrimary('sticky') // a pinned read says nothing about the replicas
  t.strictSame(changes, [], `${N - 1} reads in a row that fell back: not yet`)
  plan.readToPrimary('fallback')
  t.strictSame(changes, [true], `the ${N}th: falling back`)
  t.equal(plan.fallback, true)
  for (let i = 0; i < 3 * N; i++) plan.readToPrimary('fallback')
  for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
  plan.readToPrimary('fallback')
  for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
  t.strictSame(changes, [true], 'answers interrupted by a failed read: still falling back')
  plan.replicaAnswered()
  t.strictSame(changes, [true, false], `${N} answers in a row: back on the replicas`)
  plan.noReplicaAvailable()
  t.strictSame(changes, [true, false, true], 'no replica available at all: at once')
})

t.test('a reload keeps the fallback state while the read pool stays; a new read pool starts afresh', async (t) => {
  const { config, routes } = split()
  const { changes, events } = recorder()
  const options = { secret: 's', clock: new ManualClock(), random: () => 0.5, events }
  const first = buildPlans(config, routes, options)
  planOf(first).noReplicaAvailable()
  const reloaded = buildPlans(config, new RoutingTable(config.routes).routes, options, first)
  t.equal(planOf(reloaded).fallback, true, '/status still says falling back')
  planOf(reloaded).noReplicaAvailable()
  t.strictSame(changes, [true], 'no second "on"')
  for (let i = 0; i < N; i++) planOf(reloaded).replicaAnswered()
  t.strictSame(changes, [true, false], 'and the "off" comes when the replicas answer')

  planOf(reloaded).noReplicaAvailable()
  const other = split('others')
  t.equal(planOf(buildPlans(other.config, other.routes, options, reloaded)).fallback, false, 'another read pool: not falling back')
})

// README (read/write split): reads fall back "after 5 reads in a row that no replica answered, and end after 5 reads in
// a row" that one did. The tests above count in DEFAULT_FALLBACK_STREAK, whatever it is: this one pins the number an
// operator reads, and so when the state (in the log, the event feed and /status) turns.
t.test('the default streak is the 5 reads the README gives, either way', async (t) => {
  const { config, routes } = split()
  const { changes, events } = recorder()
  const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
  for (let i = 0; i < 4; i++) plan.readToPrimary('fallback')
  t.strictSame(changes, [], '4 reads that fell back: not yet')
  plan.readToPrimary('fallback')
  t.strictSame(changes, [true], 'the 5th: falling back')
  for (let i = 0; i < 4; i++) plan.replicaAnswered()
  t.strictSame(changes, [true], '4 replica answers: still falling back')
  plan.replicaAnswered()
  t.strictSame(changes, [true, false], 'the 5th: back on the replicas')
})

// The streak that turned the state counts for nothing afterwards: the first answer after reads fell back (or the
// first failed read after they came back) starts a new streak of one, or one replica answer right after the turn
// would turn it back, logging "on" and "off" for a replica that answered once.
t.test('a turn starts the next streak from zero, either way', async (t) => {
  const { config, routes } = split()
  const { changes, events } = recorder()
  const plan = planOf(buildPlans(config, routes, { secret: 's', clock: new ManualClock(), random: () => 0.5, events }))
  for (let i = 0; i < N; i++) plan.readToPrimary('fallback')
  t.strictSame(changes, [true])
  plan.replicaAnswered()
  t.strictSame(changes, [true], 'one answer right after the turn: still falling back')
  t.equal(plan.fallback, true)
  for (let i = 0; i < N - 1; i++) plan.replicaAnswered()
  t.strictSame(changes, [true, false], `${N} answers: back on the replicas`)
  plan.readToPrimary('fallback')
  t.strictSame(changes, [true, false], 'one failed read right after: still on the replicas')
  plan.noReplicaAvailable()
  t.strictSame(changes, [true, false, true], 'no replica available at all: at once')
  plan.replicaAnswered()
  t.strictSame(changes, [true, false, true], 'one answer right after: still falling back')
})
