// Belongs in test/ops/. After the cut destroys the tunnels, drainAndClose (src/lifecycle/shutdown.ts) waits for them
// to end, since their access-log lines are written as their sockets close and the CLI exits once it returns: it
// returns once they have ended (however few turns that takes, not at the first timer), without waiting out its 1 s
// cap when they end sooner, and at the cap when one never ends. Played on drainAndClose's own parts: a real listener,
// a proxy with nothing in flight, and a stand-in tunnel set whose destroyed tunnel ends when the test says.
import { createServer } from 'node:http'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { drainAndClose, type ShutdownParts } from '../../src/lifecycle/shutdown.ts'
import type { ProxyHandler } from '../../src/proxy/forward.ts'
import type { TunnelSet } from '../../src/proxy/tunnels.ts'
import { ManualClock } from '../helpers/clock.ts'

const TIMEOUT_MS = 1000

/** One tunnel open; destroyAll() ends it `closeAfterMs` later (real time), or never (undefined). */
function oneTunnel (closeAfterMs: number | undefined) {
  let open = 1
  let destroyedAt: number | undefined
  let endedAt: number | undefined
  let onIdle: (() => void) | undefined
  const timers: NodeJS.Timeout[] = []
  const set = {
    get open () { return open },
    idle: () => open === 0 ? Promise.resolve() : new Promise<void>((resolve) => { const previous = onIdle; onIdle = () => { previous?.(); resolve() } }),
    destroyAll () {
      destroyedAt = performance.now()
      if (closeAfterMs === undefined) return
      timers.push(setTimeout(() => { open = 0; endedAt = performance.now(); onIdle?.() }, closeAfterMs))
    },
  }
  return { set: set as unknown as TunnelSet, destroyedAt: () => destroyedAt, endedAt: () => endedAt, clear: () => timers.forEach(clearTimeout) }
}

async function cut (t: Test, tunnels: TunnelSet): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.close(() => resolve()) }).catch(() => {}))
  // the cap's timer is unref'd (it must not keep a shutting-down process alive): this one keeps the test's
  const keepAlive = setTimeout(() => {}, 5000)
  t.teardown(() => clearTimeout(keepAlive))
  const clock = new ManualClock()
  const proxy = { active: 0, setPhase: () => {}, idle: () => Promise.resolve() } as unknown as ProxyHandler
  const parts: ShutdownParts = { server, proxy, tunnels, clock, logger: pino({ level: 'silent' }), beginDrain: () => {} }
  const done = drainAndClose(parts, { delayMs: 0, timeoutMs: TIMEOUT_MS })
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  // the tunnel is still open at the shutdown's timeout: it is cut
  clock.advance(TIMEOUT_MS)
  await done
  return performance.now()
}

t.test('the cut returns once its destroyed tunnels have ended, a few timer turns later', async (t) => {
  const tunnel = oneTunnel(50)
  t.teardown(tunnel.clear)
  const returnedAt = await cut(t, tunnel.set)
  t.ok(tunnel.destroyedAt() !== undefined, 'the tunnel was destroyed')
  t.ok(tunnel.endedAt() !== undefined && tunnel.endedAt()! <= returnedAt, 'it had ended when the shutdown returned')
  t.ok(returnedAt - tunnel.endedAt()! < 500, 'and the shutdown did not wait out its 1 s cap')
})

t.test('a destroyed tunnel that never ends holds the cut 1 s at most', async (t) => {
  const tunnel = oneTunnel(undefined)
  const returnedAt = await cut(t, tunnel.set)
  const waited = returnedAt - tunnel.destroyedAt()!
  t.ok(waited >= 900 && waited < 3000, `returned ${Math.round(waited)} ms after the cut`)
})
