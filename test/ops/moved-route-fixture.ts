// Shared setup of the test/ops files that move a route between pools by reload while a request is held at the old
// one, then check which (route, pool) series /metrics still shows: an upstream that holds one path until the test
// answers it, a gateway whose reload loads a config the test picks, and a reader of requests_total by route and pool.
import type { OutgoingHttpHeaders, Server, ServerResponse } from 'node:http'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { validateConfig } from '../../src/config/validate.ts'
import { startGateway, type TestGateway } from '../helpers/gateway.ts'
import { serveOnLoopback } from '../helpers/loopback-server.ts'

type Teardown = { teardown (fn: () => unknown): void }

export interface HeldUpstream {
  server: Server
  url: string
  /** The held requests' responses, in arrival order: the test ends each when it wants it answered. */
  held: ServerResponse[]
}

/** An upstream that holds requests to `path` and answers every other at once, 200 'ok' with `headers` added. */
export async function heldUpstream (t: Teardown, path: string, headers: OutgoingHttpHeaders = {}): Promise<HeldUpstream> {
  const held: ServerResponse[] = []
  const { server, url } = await serveOnLoopback(t, (req, res) => {
    req.resume()
    if (req.url === path) held.push(res)
    else res.writeHead(200, { 'content-length': '2', ...headers }).end('ok')
  })
  return { server, url, held }
}

export interface ReloadableGateway<K> {
  gw: TestGateway
  /** Reloads to config(key): the gateway's load returns it, as a changed config file would. */
  reloadTo (key: K): ReturnType<TestGateway['gateway']['reload']>
}

/**
 * A gateway started from config(first), without default metrics (so renders hold only the gateway's series). K is
 * config's key type, not first's (NoInfer): a literal first key would narrow it to that one value.
 */
export async function startReloadable<K> (t: Teardown, config: (key: K) => GatewayConfig, first: NoInfer<K>): Promise<ReloadableGateway<K>> {
  let next = config(first)
  const gw = await startGateway(next, { defaultMetrics: false, load: async () => validateConfig(next) })
  t.teardown(() => gw.close())
  return {
    gw,
    reloadTo: (key) => {
      next = config(key)
      return gw.gateway.reload('admin')
    },
  }
}

/** The route's switchyard_requests_total series at one render (of one pool, if given): labels → count. */
export async function requestCounts (gw: TestGateway, route: string, pool?: string): Promise<Record<string, number>> {
  return Object.fromEntries((await gw.gateway.metrics!.render()).split('\n')
    .filter((l) => l.startsWith('switchyard_requests_total{') && l.includes(`route="${route}"`) && (pool === undefined || l.includes(`pool="${pool}"`)))
    .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]))
}
