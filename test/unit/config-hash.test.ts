import t from 'tap'
import { canonicalJson, configHash } from '../../src/config/hash.ts'
import { validateConfig } from '../../src/config/validate.ts'

const config = (input: Record<string, unknown> = {}): ReturnType<typeof validateConfig> => validateConfig({
  pools: { payment: { targets: ['http://10.0.0.1:3000', 'http://10.0.0.2:3000'] }, users: { targets: ['http://10.0.1.1:3000'] } },
  routes: [{ path: '/payment', pool: 'payment' }, { path: '/users', pool: 'users' }],
  ...input,
})

t.test('canonical JSON sorts object keys at every depth and keeps array order', async (t) => {
  const cases: [input: unknown, expected: string][] = [
    [{ b: 1, a: 2 }, '{"a":2,"b":1}'],
    [{ b: { d: 1, c: [{ z: 1, y: 2 }, 3] }, a: null }, '{"a":null,"b":{"c":[{"y":2,"z":1},3],"d":1}}'],
    [[3, 1, 2], '[3,1,2]'],
    [{ a: undefined, b: 'x' }, '{"b":"x"}'],
    ['s', '"s"'],
    [undefined, 'undefined'],
  ]
  for (const [input, expected] of cases) t.equal(canonicalJson(input), expected, expected)
})

t.test('deep-equal configs hash the same whatever the key order in the file', async (t) => {
  const a = config()
  const b = validateConfig({
    routes: [{ pool: 'payment', path: '/payment' }, { pool: 'users', path: '/users' }],
    pools: { users: { targets: ['http://10.0.1.1:3000'] }, payment: { targets: ['http://10.0.0.1:3000', 'http://10.0.0.2:3000'] } },
  })
  t.not(a, b, 'two separate objects')
  t.equal(configHash(a), configHash(b))
  t.equal(configHash(a), configHash(config({ log: { level: 'info' } })), 'a default written out is the same config')
  t.match(configHash(a), /^[0-9a-f]{16}$/)
})

t.test('any change of value gives a different hash', async (t) => {
  const base = configHash(config())
  const variants: [label: string, input: Record<string, unknown>][] = [
    ['log level', { log: { level: 'debug' } }],
    ['server port', { server: { port: 8081 } }],
    ['target weight', { pools: { payment: { targets: [{ url: 'http://10.0.0.1:3000', weight: 2 }, 'http://10.0.0.2:3000'] }, users: { targets: ['http://10.0.1.1:3000'] } } }],
    ['pool balancer', { pools: { payment: { targets: ['http://10.0.0.1:3000', 'http://10.0.0.2:3000'], balancer: 'p2c' }, users: { targets: ['http://10.0.1.1:3000'] } } }],
    // arrays keep their order: a reordered list is a different config here (diffConfigs can tell it is harmless)
    ['route order', { routes: [{ path: '/users', pool: 'users' }, { path: '/payment', pool: 'payment' }] }],
  ]
  const seen = new Set([base])
  for (const [label, input] of variants) {
    const hash = configHash(config(input))
    t.notOk(seen.has(hash), label)
    seen.add(hash)
  }
})
