// Repeated Max-Forwards lines: the upstream gets one hop count, the first (as Node's req.headers keeps it), for
// every method. Joined into `3, 5` it would be a value no recipient reads as a number. A TRACE or OPTIONS whose
// lines disagree is a 400 (the gateway would have to guess which to decrement); lines that agree are one value.
import t, { type Test } from 'tap'
import { rawConnection } from '../helpers/raw-connection.ts'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

async function setup (t: Test): Promise<{ port: number; u: TestUpstream }> {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] })
  t.teardown(async () => { await gw.close(); await u.close() })
  return { port: Number(new URL(gw.url).port), u }
}

async function send (t: Test, port: number, method: string, lines: string[]): Promise<string> {
  const c = rawConnection(t, port)
  await c.connected
  c.socket.write(`${method} /x HTTP/1.1\r\nHost: x\r\n${lines.map((v) => `Max-Forwards: ${v}\r\n`).join('')}\r\n`)
  await waitFor(() => /^HTTP\/1\.1 \d{3} [^]*\r\n\r\n/.test(c.received()))
  return /^HTTP\/1\.1 (\d{3})/.exec(c.received())![1]!
}

const sent = (u: TestUpstream): string[] => u.requests.map((r) => r.rawHeaders.filter((_, i, raw) => i % 2 === 1 && raw[i - 1]!.toLowerCase() === 'max-forwards').join('|'))

t.test('GET and DELETE with two Max-Forwards lines: only the first goes upstream', async (t) => {
  const { port, u } = await setup(t)
  t.equal(await send(t, port, 'GET', ['3', '5']), '200')
  t.equal(await send(t, port, 'DELETE', ['7', '1']), '200')
  t.strictSame(sent(u), ['3', '7'])
})

t.test('TRACE and OPTIONS: lines that agree are decremented as one; lines that differ are a 400', async (t) => {
  const { port, u } = await setup(t)
  t.equal(await send(t, port, 'TRACE', ['3', '3']), '200')
  t.equal(await send(t, port, 'OPTIONS', ['4', '4']), '200')
  t.strictSame(sent(u), ['2', '3'])
  t.equal(await send(t, port, 'TRACE', ['3', '5']), '400')
  t.equal(await send(t, port, 'OPTIONS', ['0', '1']), '400')
  t.equal(u.requests.length, 2, 'neither refused one went upstream')
})
