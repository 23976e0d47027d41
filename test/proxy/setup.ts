// Starts upstreams and gateways that close themselves when the test ends.
import type tap from 'tap'
import type { GatewayOptions } from '../../src/app.ts'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { request } from 'node:http'
import type { Target } from '../../src/upstream/target.ts'
import { startGateway, waitFor, type TestGateway } from '../helpers/gateway.ts'
import { TestUpstream, type UpstreamOptions } from '../helpers/upstream.ts'
import { refusedPort } from '../helpers/refused-port.ts'

/** The part of a tap Test these helpers use. */
export interface HasTeardown {
  teardown (fn: () => unknown): void
}

export async function upstream (t: HasTeardown, name: string, options: UpstreamOptions = {}): Promise<TestUpstream> {
  const u = await TestUpstream.start({ name, ...options })
  t.teardown(() => u.close())
  return u
}

export async function gateway (t: HasTeardown, config: GatewayConfig, options: GatewayOptions = {}): Promise<TestGateway> {
  const gw = await startGateway(config, options)
  t.teardown(() => gw.close())
  return gw
}

/** A target URL nothing listens on, and no test's server can be given (test/helpers/refused-port.ts). */
export async function refusedUrl (): Promise<string> {
  return `http://127.0.0.1:${await refusedPort()}`
}

/** The tap Test a subtest callback receives (its last overload is `test(cb)`). */
export type Tap = Parameters<Parameters<typeof tap.test>[0]>[0]

/**
 * Takes a target's only connection (connections.maxPerTarget 1, retry.maxBufferBytes under 48) with a streamed
 * upload that never ends: its deadline starts only once it has been sent. Resolves once the upstream has it;
 * `release()` frees the connection.
 */
export async function holdOnlyConnection (t: HasTeardown, gatewayUrl: string, target: Target, upstreamHasIt: () => boolean): Promise<{ release (): void }> {
  const holder = request(`${gatewayUrl}/hold`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } })
  holder.on('error', () => { /* released */ })
  t.teardown(() => { holder.destroy() })
  holder.write('more than sixteen bytes of a body that never ends')
  await waitFor(() => upstreamHasIt() && target.inFlight === 1)
  return { release: () => holder.destroy() }
}
