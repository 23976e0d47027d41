// A WebSocket handshake retried on another target after a connect failure is counted in switchyard_retries_total
// (reason connect-failure) as a request's retry is: an operator watching retries sees the dead target behind the
// upgrades too, not only behind plain requests.
import t from 'tap'
import { deadPrimary } from '../proxy/dead-primary.ts'
import { portOf } from '../proxy/raw.ts'
import { openTunnel } from '../proxy/ws-tunnel.ts'
import { key, seriesOf } from '../unit/metrics-exposition.ts'

t.test('a handshake retried after a connect failure counts one connect-failure retry', async (t) => {
  const { gw, live } = await deadPrimary(t, { attempts: 3, retryOn: ['connect-failure'] })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  const tunnel = await openTunnel(t, portOf(gw.url))
  t.equal(live.tunnels.size, 1, 'tunnelled to the live target on the retry')
  tunnel.socket.destroy()
  const res = await fetch(`${admin}/metrics`)
  t.equal(res.status, 200)
  const series = seriesOf(await res.text())
  t.equal(series[key('switchyard_retries_total', { pool: 'p', reason: 'connect-failure' })], 1)
})
