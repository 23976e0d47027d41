import type { IncomingMessage } from 'node:http'
import t from 'tap'
import type { BalancerConfig } from '../../src/config/schema.ts'
import { cookieValue, keyExtractor } from '../../src/proxy/hash-key.ts'

const req = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers }) as unknown as IncomingMessage

t.test('only hash balancing extracts a key', async (t) => {
  for (const b of ['round-robin', 'least-connections', 'random', 'p2c'] as const) t.equal(keyExtractor(b), undefined, b)
})

t.test('keyExtractor', async (t) => {
  const cases: { key: string; headers: Record<string, string | string[]>; ip: string; want: string | undefined }[] = [
    { key: 'ip', headers: {}, ip: '10.1.2.3', want: '10.1.2.3' },
    { key: 'ip', headers: { 'x-user': 'u' }, ip: '::1', want: '::1' },
    { key: 'header:X-User', headers: { 'x-user': 'alice' }, ip: '1.1.1.1', want: 'alice' },
    { key: 'header:x-user', headers: { 'x-user': 'alice' }, ip: '1.1.1.1', want: 'alice' },
    { key: 'header:X-User', headers: {}, ip: '1.1.1.1', want: undefined },
    { key: 'header:X-User', headers: { 'x-user': ['first', 'second'] }, ip: '1.1.1.1', want: 'first' },
    { key: 'cookie:session', headers: { cookie: 'a=1; session=abc; b=2' }, ip: '1.1.1.1', want: 'abc' },
    { key: 'cookie:session', headers: { cookie: 'a=1' }, ip: '1.1.1.1', want: undefined },
    { key: 'cookie:session', headers: {}, ip: '1.1.1.1', want: undefined },
    { key: 'cookie:Session', headers: { cookie: 'session=lower; Session=upper' }, ip: '1.1.1.1', want: 'upper' },
  ]
  for (const c of cases) {
    const config: BalancerConfig = { type: 'hash', key: c.key }
    const extract = keyExtractor(config)
    t.type(extract, 'function', c.key)
    t.equal(extract?.(req(c.headers), c.ip), c.want, `${c.key} ${JSON.stringify(c.headers)}`)
  }
})

t.test('cookieValue', async (t) => {
  const cases: [header: string | undefined, name: string, want: string | undefined][] = [
    [undefined, 'a', undefined],
    ['', 'a', undefined],
    ['a=1', 'a', '1'],
    ['a=1; b=2', 'b', '2'],
    ['a=1;b=2', 'b', '2'],
    ['  a = 1 ;  b =  2  ', 'b', '2'],
    ['a=1; a=2', 'a', '1'],
    ['session=abc', 'sess', undefined],
    ['sess=abc', 'session', undefined],
    ['tok=a=b=c', 'tok', 'a=b=c'],
    ['flag; a=1', 'a', '1'],
    ['flag', 'flag', undefined],
    ['a=', 'a', ''],
    ['A=1', 'a', undefined],
    ['q="quoted"', 'q', '"quoted"'],
  ]
  for (const [header, name, want] of cases) t.equal(cookieValue(header, name), want, `${JSON.stringify(header)} ${name}`)
})
