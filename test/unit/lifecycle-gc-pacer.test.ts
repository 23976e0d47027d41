import t from 'tap'
import { GcPacer } from '../../src/lifecycle/gc-pacer.ts'

const MiB = 1024 * 1024

t.test('collects once array buffers grew by the threshold, then measures from the new level', async (t) => {
  let held = 10 * MiB
  let collected = 0
  const pacer = new GcPacer({ thresholdBytes: 8 * MiB, arrayBuffers: () => held, collect: () => { collected++; held = 11 * MiB } })
  t.ok(pacer.enabled)
  pacer.start()
  t.teardown(() => pacer.stop())
  held = 17 * MiB
  pacer.check()
  t.equal(collected, 0, 'under the threshold: nothing')
  held = 18 * MiB
  pacer.check()
  t.equal(collected, 1, 'threshold reached: one collection')
  held = 18 * MiB
  pacer.check()
  t.equal(collected, 1, 'baseline is the level after the collection (11 MiB)')
  held = 19 * MiB
  pacer.check()
  t.equal(collected, 2)
  t.equal(pacer.collections, 2)
})

t.test('a falling level lowers the baseline', async (t) => {
  let held = 20 * MiB
  let collected = 0
  const pacer = new GcPacer({ thresholdBytes: 8 * MiB, arrayBuffers: () => held, collect: () => { collected++ } })
  pacer.start()
  t.teardown(() => pacer.stop())
  held = 2 * MiB
  pacer.check()
  held = 10 * MiB
  pacer.check()
  t.equal(collected, 1, '8 MiB above the lower level')
})

t.test('without gc() exposed and nothing injected, the pacer is off', async (t) => {
  const exposed = (globalThis as { gc?: unknown }).gc
  delete (globalThis as { gc?: unknown }).gc
  t.teardown(() => { if (exposed !== undefined) (globalThis as { gc?: unknown }).gc = exposed })
  const pacer = new GcPacer()
  t.notOk(pacer.enabled)
  pacer.start()
  pacer.check()
  t.equal(pacer.collections, 0)
  pacer.stop()
})
