// The stress upstream (./upstream.ts) in a process of its own, for scripts/aborts.ts: `node upstream-child.ts
// <slowMs>`, forked with an IPC channel. Its timestamps are then taken on an event loop that the load driver's
// 200 clients do not hold up (in the driver's process they lagged the upstream's close times by up to 85 ms).
// Both processes read the same clock, machineNow(). Says { type: 'ready', url } once listening; answers
// { type: 'clear' } (forget what was recorded), { type: 'report' } (what was recorded, and its event-loop delay
// since the last clear); exits when the channel closes.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { machineNow } from './stats.ts'
import { StressUpstream } from './upstream.ts'

const upstream = await StressUpstream.start(machineNow)
upstream.slowMs = Number(process.argv[2] ?? '2000')
const loop = monitorEventLoopDelay({ resolution: 10 })
loop.enable()
process.send!({ type: 'ready', url: upstream.url })

process.on('message', (message: { type: string }) => {
  if (message.type === 'clear') {
    upstream.arrived.clear()
    upstream.closed.clear()
    loop.reset()
    process.send!({ type: 'clear' })
  }
  if (message.type === 'report') {
    process.send!({
      type: 'report',
      arrived: [...upstream.arrived],
      closed: [...upstream.closed],
      slowAnswered: upstream.slowAnswered,
      loop: { p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 },
    })
  }
})
process.once('disconnect', () => { void upstream.close().finally(() => process.exit(0)) })
