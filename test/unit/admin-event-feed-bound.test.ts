// The event feed (/events, the dashboard's feed) keeps the last 200 events, newest last: the 201st drops the oldest,
// never the newest, so what an operator reads after a burst of changes ends on what happened last, and memory is
// bounded however long the gateway runs.
import t from 'tap'
import pino from 'pino'
import { EventFeed } from '../../src/admin/event-feed.ts'
import { ManualClock } from '../helpers/clock.ts'

t.test('200 events kept by default, oldest dropped first, newest last', async (t) => {
  const feed = new EventFeed(pino({ level: 'silent' }), new ManualClock(0))
  for (let i = 1; i <= 200; i++) feed.record('info', { kind: 'target', pool: 'p', message: `event ${i}` })
  t.equal(feed.list().length, 200, '200 kept')
  t.equal(feed.list()[0]!.message, 'event 1')
  feed.record('warn', { kind: 'target', pool: 'p', message: 'event 201' })
  t.equal(feed.list().length, 200, 'still 200')
  t.equal(feed.list()[0]!.message, 'event 2', 'the oldest went')
  t.equal(feed.list().at(-1)!.message, 'event 201', 'the newest is last')
})
