// Belongs in test/config/. Gap found by mutation testing (review r36, mutant AF28): the refusal of a method Node's
// parser does not take lists the methods it does take, for the operator to pick from, and CONNECT is not one to pick
// (a route for it is refused too: answered 501 before routing).
import t from 'tap'
import { METHODS } from 'node:http'
import { baseConfig, problemsOf } from './problems.ts'

t.test("the list of methods a refusal offers leaves CONNECT out and names the others", async (t) => {
  const [problem] = problemsOf(baseConfig({ routes: [{ path: '/a', pool: 'a', methods: ['BREW'] }, { path: '/', pool: 'b' }] }))
  t.match(problem, /^routes\[0\]\.methods\[0\]: Node's HTTP parser refuses requests with this method/)
  const offered = /it takes (.*)$/.exec(problem ?? '')?.[1]?.split(', ') ?? []
  t.notOk(offered.includes('CONNECT'), 'CONNECT is not offered')
  t.strictSame(offered, METHODS.filter((m) => m !== 'CONNECT'), 'every other method Node takes is')
})
