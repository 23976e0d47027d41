// Every event the feed records is also emitted, as recorded (time included), the moment it happens: the dashboard's
// live stream publishes events from this, so a feed that only stored them would leave open dashboards silent.
import t from 'tap'
import pino from 'pino'
import { EventFeed } from '../../src/admin/event-feed.ts'
import type { GatewayEvent } from '../../src/admin/status-types.ts'
import { ManualClock } from '../helpers/clock.ts'

t.test('record() emits the event it stores', async (t) => {
  const feed = new EventFeed(pino({ level: 'silent' }), new ManualClock(1_000_000))
  const seen: GatewayEvent[] = []
  feed.on('event', (e) => seen.push(e))
  feed.record('error', { kind: 'breaker', pool: 'p', message: 'circuit breaker open' })
  t.equal(seen.length, 1)
  t.equal(seen[0], feed.list().at(-1), 'the stored event itself')
  t.equal(seen[0]!.at, new Date(1_000_000).toISOString())
})
