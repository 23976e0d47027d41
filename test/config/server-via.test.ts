// server.via: the received-by of the Via entry the gateway adds to each request it forwards (RFC 9110 §7.6.3:
// `received-by = pseudonym [ ":" port ]`, a pseudonym being a token), or false for none. Default 'switchyard'.
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { baseConfig, problemsOf } from './problems.ts'

const withVia = (via: unknown): Record<string, unknown> => baseConfig({ server: { via } })

t.test("the default is the pseudonym 'switchyard'", async (t) => {
  t.equal(validateConfig(baseConfig()).server.via, 'switchyard')
})

t.test('a pseudonym, a host name, an address, with or without a port, or false', async (t) => {
  for (const via of ['edge-1', 'gw.example.com', 'gw.example.com:8080', '10.0.0.1:80', '[2001:db8::1]:443', "a!#$%&'*+-.^_`|~z", false]) {
    t.strictSame(problemsOf(withVia(via)), [], `server.via ${JSON.stringify(via)}`)
    t.equal(validateConfig(withVia(via)).server.via, via)
  }
})

t.test('anything a Via entry could not carry is refused, at the field', async (t) => {
  for (const via of ['', 'a b', 'a,b', 'a (x)', 'a;b', 'a:', 'a:port', '"q"', 'a\tb', 'é', 'x'.repeat(256), true, 0, null]) {
    const problems = problemsOf(withVia(via))
    t.equal(problems.length, 1, `server.via ${JSON.stringify(via)?.slice(0, 20)}`)
    t.match(problems[0], /^server\.via: must be false or a Via received-by/)
  }
})
