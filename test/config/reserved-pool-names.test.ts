// Pool names that plain objects treat as their own machinery are refused with their own problem: a JSON config's
// '__proto__' pool was dropped without a word, 'constructor' and 'prototype' would resolve to Object's properties.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

t.test("a JSON pool named '__proto__' is reported, not dropped", async (t) => {
  const config = JSON.parse('{"pools":{"__proto__":{"targets":["http://127.0.0.1:1"]},"a":{"targets":["http://127.0.0.1:2"]}},"routes":[{"path":"/a","pool":"a"}]}') as unknown
  t.strictSame(problemPaths(config), ['pools.__proto__'])
})

for (const name of ['constructor', 'prototype']) {
  t.test(`a pool named '${name}' is refused`, async (t) => {
    const config = baseConfig({ pools: { [name]: { targets: ['http://127.0.0.1:1'] } }, routes: [{ path: '/a', pool: name }] })
    t.strictSame(problemPaths(config), [`pools.${name}`])
  })
}
