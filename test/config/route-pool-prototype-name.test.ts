// A route (or its reads, canary or mirror part) naming a pool that does not exist is refused even when the name is
// one every plain object answers to ('toString', 'constructor', 'hasOwnProperty'): such a name is no pool, and a
// config that let it through would start and then fail on the first request it routes.
import t from 'tap'
import { baseConfig, problemPaths } from './problems.ts'

const names = ['toString', 'constructor', 'hasOwnProperty', 'valueOf']

t.test("a route's pool named like an Object.prototype property is an unknown pool", async (t) => {
  for (const name of names) {
    t.strictSame(problemPaths(baseConfig({ routes: [{ path: '/a', pool: name }] })), ['routes[0].pool'], name)
  }
})

t.test("a reads, canary or mirror pool named like an Object.prototype property is an unknown pool", async (t) => {
  for (const name of names) {
    for (const part of ['reads', 'canary', 'mirror']) {
      const config = baseConfig({ routes: [{ path: '/a', pool: 'a', [part]: { pool: name, ...(part === 'canary' ? { weight: 10 } : {}) } }] })
      t.strictSame(problemPaths(config), [`routes[0].${part}.pool`], `${part}: ${name}`)
    }
  }
})
