import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { parseHashKey } from '../../src/balancer/hash.ts'
import { extractHashKey } from '../../src/proxy/hash-key.ts'

const req = (headers: Record<string, string | string[]>): IncomingMessage => ({ headers }) as unknown as IncomingMessage

t.test('parseHashKey: the pool keeps data, not a function of the request', async (t) => {
  t.strictSame(parseHashKey('ip'), { source: 'ip' })
  t.strictSame(parseHashKey('header:X-User'), { source: 'header', name: 'x-user' }, 'header names are case-insensitive')
  t.strictSame(parseHashKey('cookie:Session'), { source: 'cookie', name: 'Session' }, 'cookie names are not')
})

t.test('extractHashKey', async (t) => {
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
    // the cookie package's reading: values percent-decoded, quotes kept, first of a name wins, '=' kept in values
    { key: 'cookie:q', headers: { cookie: 'q="quoted"' }, ip: '1.1.1.1', want: '"quoted"' },
    { key: 'cookie:q', headers: { cookie: 'q=a%20b' }, ip: '1.1.1.1', want: 'a b' },
    { key: 'cookie:a', headers: { cookie: 'a=1; a=2' }, ip: '1.1.1.1', want: '1' },
    { key: 'cookie:tok', headers: { cookie: 'tok=a=b=c' }, ip: '1.1.1.1', want: 'a=b=c' },
    { key: 'cookie:a', headers: { cookie: '  a = 1 ;  b =  2  ' }, ip: '1.1.1.1', want: '1' },
    { key: 'cookie:a', headers: { cookie: 'A=1' }, ip: '1.1.1.1', want: undefined },
    { key: 'cookie:a', headers: { cookie: 'flag; a=1' }, ip: '1.1.1.1', want: '1' },
    { key: 'cookie:bad', headers: { cookie: 'bad=%zz' }, ip: '1.1.1.1', want: '%zz' },
  ]
  for (const c of cases) {
    t.equal(extractHashKey(parseHashKey(c.key), req(c.headers), c.ip), c.want, `${c.key} ${JSON.stringify(c.headers)}`)
  }
})
