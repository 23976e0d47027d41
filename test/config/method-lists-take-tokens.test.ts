// retry.methods and reads.methods take the methods routes take (any Node's parser knows, in upper case): a QUERY
// route's requests could be neither retried nor read from replicas, though QUERY is safe and idempotent (RFC 9110
// §9.2), because both lists took only nine methods (review r36e). POST, PATCH and CONNECT are still never retried by
// method alone, and a method no request can have is refused as in routes.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { baseConfig, problemPaths } from './problems.ts'

const withRetry = (methods: unknown[]) => baseConfig({ pools: { a: { targets: ['http://127.0.0.1:1'], retry: { methods } }, b: { targets: ['http://127.0.0.1:2'] } } })
const withReads = (methods: unknown[]) => baseConfig({
  pools: { a: { targets: ['http://127.0.0.1:1'] }, b: { targets: ['http://127.0.0.1:2'] } },
  routes: [{ path: '/a', pool: 'a', reads: { pool: 'b', methods } }],
})

t.test('retry.methods takes extension methods', async (t) => {
  const config = validateConfig(withRetry(['GET', 'QUERY', 'PROPFIND']))
  t.strictSame(config.pools.a!.retry.methods, ['GET', 'QUERY', 'PROPFIND'])
  for (const bad of ['POST', 'PATCH', 'CONNECT', 'query', 'BREW', 'GET POST']) {
    t.strictSame(problemPaths(withRetry(['GET', bad])), ['pools.a.retry.methods[1]'], bad)
  }
})

t.test('reads.methods takes extension methods', async (t) => {
  const config = validateConfig(withReads(['GET', 'HEAD', 'QUERY']))
  t.strictSame(config.routes[0]!.reads!.methods, ['GET', 'HEAD', 'QUERY'])
  for (const bad of ['CONNECT', 'query', 'BREW']) {
    t.strictSame(problemPaths(withReads(['GET', bad])), ['routes[0].reads.methods[1]'], bad)
  }
})
