// A route's id joins its header pairs as 'name=value' with ','. Header values may hold ',' and '=' themselves, so
// { accept: 'application/json,version=2' } and { accept: 'application/json', version: '2' } got one id: a valid
// config was refused as a duplicate, and the two routes would have shared metric series, /status entries, canary
// state and read-your-writes tokens. Such a value is now written as a JSON string after ':'; every other id stays
// byte for byte what it was, as ids are metric labels operators alert on (review r36c finding 4).
import t from 'tap'
import { routeIdOf } from '../../src/routing/table.ts'
import { baseConfig, problemsOf } from '../config/problems.ts'

const idOf = (headers: Record<string, string>): string => routeIdOf({ path: '/p', headers })

t.test("values holding ',' or '=' get ids of their own", async (t) => {
  const pairs: [Record<string, string>, Record<string, string>][] = [
    [{ accept: 'application/json,version=2' }, { accept: 'application/json', version: '2' }],
    [{ a: 'x,b=y' }, { a: 'x', b: 'y' }],
    [{ a: 'x,b=y' }, { a: '"x', b: 'y"' }],
    [{ a: 'x,b=y,c=z' }, { a: 'x', b: 'y', c: 'z' }],
    [{ a: 'x,b=' }, { a: 'x', b: '' }],
  ]
  for (const [one, other] of pairs) t.not(idOf(one), idOf(other), `${JSON.stringify(one)} and ${JSON.stringify(other)}`)
  t.equal(idOf({ accept: 'application/json,version=2' }), '*/p {accept:"application/json,version=2"}')
  t.equal(idOf({ 'X-Q': 'a"b=c\\d' }), '*/p {x-q:"a\\"b=c\\\\d"}', 'quotes and backslashes in a quoted value are escaped')
})

t.test('ids of values without them are as they were', async (t) => {
  t.equal(idOf({ 'X-Beta': 'yes' }), '*/p {x-beta=yes}')
  t.equal(idOf({ b: '"etag"', a: 'x y}{[]' }), '*/p {a=x y}{[],b="etag"}')
  t.equal(routeIdOf({ path: '/p/', host: 'API.example.com.', methods: ['POST', 'GET'], headers: { 'x-t': '1', 'x-a': '' } }), 'api.example.com/p [GET,POST] {x-a=,x-t=1}')
  t.equal(idOf({ b: 'q=1', a: 'plain' }), '*/p {a=plain,b:"q=1"}', 'a mixed list: only the value that needs it is quoted')
})

t.test('two routes told apart only by such values are a valid config', async (t) => {
  const config = baseConfig({
    routes: [
      { path: '/p', pool: 'a', headers: { accept: 'application/json,version=2' } },
      { path: '/p', pool: 'b', headers: { accept: 'application/json', version: '2' } },
    ],
  })
  t.strictSame(problemsOf(config), [])
  const same = baseConfig({ routes: [{ path: '/p', pool: 'a', headers: { a: 'x,y' } }, { path: '/p', pool: 'b', headers: { A: 'x,y' } }] })
  t.strictSame(problemsOf(same), ['routes[1]: same path, host, methods and headers as routes[0]'], 'the same route twice is still refused')
})
