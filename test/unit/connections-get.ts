// One GET through a TargetConnections, as the connections tests send it: its status, or its error's code.
import type { Dispatcher } from 'undici'
import type { TargetConnections } from '../../src/upstream/connections.ts'

export function get (pool: TargetConnections, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, s) { status = s },
      onResponseData () {},
      onResponseEnd () { resolve(status) },
      onResponseError (_c, err) { resolve((err as { code?: string }).code ?? 'error') },
    }
    pool.dispatch({ path, method: 'GET' }, handler)
  })
}
