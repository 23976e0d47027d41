// The hostile-request corpus (corpus.ts) over raw sockets: each case's status, the connection closed where
// framing is ambiguous, and, through counting upstreams, exactly the requests that may reach them: never a
// smuggled second one, and on every forwarded request the path that was routed.
import { request } from 'node:http'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { CountingUpstream } from '../helpers/counting-upstream.ts'
import { HOSTILE_CASES, type Reached } from './corpus.ts'
import { converse } from './wire.ts'

const BARRIER = '/__barrier'

/**
 * One request through the gateway to each upstream. Each pool has one connection, so once the barrier is
 * answered, whatever the gateway wrote to that connection before it (a smuggled request too) has been parsed.
 */
async function barrier (port: number): Promise<void> {
  for (const path of [`/payment${BARRIER}`, BARRIER]) {
    await new Promise<void>((resolve, reject) => {
      request({ port, host: '127.0.0.1', path, agent: false }, (res) => { res.resume(); res.once('end', resolve) }).once('error', reject).end()
    })
  }
}

t.test('the hostile-request corpus', async (t) => {
  const payment = await CountingUpstream.start()
  const other = await CountingUpstream.start()
  t.teardown(() => payment.close())
  t.teardown(() => other.close())
  const pool = (url: string) => ({ targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 } })
  const gw = await startGateway({
    server: { maxUrlBytes: 1024, maxHeaderBytes: 4096 },
    pools: { payment: pool(payment.url), other: pool(other.url) },
    routes: [{ path: '/payment', pool: 'payment' }, { path: '/upload', pool: 'other', maxBodyBytes: 100 }, { path: '/', pool: 'other' }],
  }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const port = Number(new URL(gw.url).port)
  const seen = (): Reached[] => [
    ...payment.requests.map((r) => ({ upstream: 'payment' as const, url: r.url })),
    ...other.requests.map((r) => ({ upstream: 'other' as const, url: r.url })),
  ].filter((r) => !r.url.endsWith(BARRIER))

  t.ok(HOSTILE_CASES.length >= 60, `${HOSTILE_CASES.length} cases`)
  for (const c of HOSTILE_CASES) {
    await t.test(`${c.group}: ${c.name} (${c.rfc})`, async (t) => {
      payment.reset()
      other.reset()
      const expected = c.expect
      const conversation = await converse(port, c.bytes, { responses: expected.reaches.length || 1, waitForClose: expected.closes === true })
      const first = conversation.responses[0]
      t.equal(first?.status ?? 0, expected.status, 'status')
      if (expected.error !== undefined) t.equal(first !== undefined ? JSON.parse(first.body.toString()).error : undefined, expected.error, 'error code')
      if (expected.closes === true) t.ok(conversation.closed, 'the gateway closed the connection')
      await barrier(port)
      // listed by upstream: within one upstream, in the order it parsed them
      const byUpstream = [...expected.reaches.filter((r) => r.upstream === 'payment'), ...expected.reaches.filter((r) => r.upstream === 'other')]
      t.strictSame(seen(), byUpstream, 'what reached the upstreams')
      t.equal(payment.parseErrors + other.parseErrors, 0, 'no upstream was sent bytes it could not parse')
      if (first?.status === 200 && expected.reaches.length === 1) {
        // the Host the upstream saw is the request's (absolute-form: the target's authority)
        const sent = (expected.reaches[0]!.upstream === 'payment' ? payment : other).requests.find((r) => !r.url.endsWith(BARRIER))!
        const absolute = /^GET (https?):\/\/([^/ ]+)/.exec(c.bytes)
        const wantHost = absolute !== null ? absolute[2] : /\r\nHost:([^\r]*)\r\n/i.exec(c.bytes)?.[1]?.trim()
        if (wantHost !== undefined) t.equal(sent.headers.host, wantHost, 'Host as the gateway routed it')
      }
      if (c.rfcStatus !== undefined) {
        await t.test(`the RFC's ${c.rfcStatus}`, { todo: c.note ?? true }, async (t) => {
          t.equal((await converse(port, c.bytes)).responses[0]?.status, c.rfcStatus)
        })
      }
    })
  }
  t.notOk([...payment.requests, ...other.requests].some((r) => r.url.includes('smuggled')), 'no smuggled request ever reached an upstream')
})
