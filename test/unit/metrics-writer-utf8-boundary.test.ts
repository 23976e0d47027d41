// The exposition writer (src/metrics/exposition.ts TextWriter) makes room for a text's UTF-8 bytes, not its UTF-16
// length, before writing it: a label of multi-byte characters near or past the buffer's end is written whole (a
// Buffer write that runs out of room stops silently, and the exposition would carry a cut label and lose its line).
import t from 'tap'
import { GatewayMetrics } from '../../src/metrics/metrics.ts'
import { parseExposition } from './metrics-exposition.ts'

t.test('a route name of multi-byte characters larger than the buffer is written whole', async (t) => {
  const m = new GatewayMetrics({ defaultMetrics: false })
  const route = '€'.repeat(30_000) // 90,000 bytes of UTF-8: past the writer's 64 KiB
  const b = m.route(route, 'p')
  b.begin()
  b.request('GET', 200, 0.01)
  const text = await m.render()
  const sample = parseExposition(text).samples.find((s) => s.name === 'switchyard_requests_total')
  t.equal(sample?.labels.route, route, 'the whole label')
  t.equal(sample?.value, 1)
})
