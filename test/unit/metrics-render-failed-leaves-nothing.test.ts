// A scrape whose render fails after the gateway's families were written (prom-client's first load failing, as it does
// out of file descriptors: src/metrics/process.ts tries it again at the next scrape) leaves nothing behind in the
// writer: the next scrape lists every series once, under one TYPE line per family. (Written in slices, the families
// go into the writer before the process metrics are awaited; a render that fails there must not hand its text to the
// next one.)
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { processRegistry } from '../../src/metrics/process.ts'
import { parseExposition, seriesOf } from './metrics-exposition.ts'

t.test('a render that fails at the process metrics leaves no text for the next one', async (t) => {
  // written at once (no slice ends before the process metrics are awaited), so the failed load below is the one awaited
  const m = new GatewayMetrics({ sliceMs: Number.POSITIVE_INFINITY })
  const b = m.route('r', 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  // the module's next load fails once (EMFILE); the render awaits that load
  const failing = processRegistry(() => Promise.reject(Object.assign(new Error('too many open files'), { code: 'EMFILE' })))
  failing.catch(() => {})
  await t.rejects(m.render(), { code: 'EMFILE' }, 'the first scrape fails')
  const text = await m.render()
  t.doesNotThrow(() => parseExposition(text), 'one TYPE line per family')
  t.equal(seriesOf(text)['switchyard_requests_total{code="200",method="GET",pool="p",route="r"}'], 1, 'each series once')
})
