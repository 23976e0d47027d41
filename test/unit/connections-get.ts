// One GET through a TargetConnections or an undici client, as the connections and target tests send it: its status,
// or its error's code (a dispatch that throws, on a closed client, too).
import type { Dispatcher } from 'undici'

export function get (pool: Pick<Dispatcher, 'dispatch'>, path: string): Promise<number | string> {
  return new Promise((resolve) => {
    let status = 0
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart () {},
      onResponseStart (_c, s) { status = s },
      onResponseData () {},
      onResponseEnd () { resolve(status) },
      onResponseError (_c, err) { resolve((err as { code?: string }).code ?? 'error') },
    }
    try {
      pool.dispatch({ path, method: 'GET' }, handler)
    } catch (err) {
      resolve((err as { code?: string }).code ?? 'error')
    }
  })
}
