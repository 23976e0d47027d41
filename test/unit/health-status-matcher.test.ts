import t from 'tap'
import { statusMatcher } from '../../src/health/expect-status.ts'

t.test('statusMatcher', async (t) => {
  const cases: { expect: number[]; accepted: number[]; refused: number[] }[] = [
    { expect: [200, 399], accepted: [200, 204, 301, 399], refused: [100, 199, 400, 404, 500, 503] },
    { expect: [200, 204], accepted: [200, 201, 204], refused: [199, 205, 404] }, // two ascending numbers are a range
    { expect: [204, 200], accepted: [200, 204], refused: [201, 203, 500] }, // descending: a list
    { expect: [200, 200], accepted: [200], refused: [199, 201] },
    { expect: [200], accepted: [200], refused: [201, 204, 399] },
    { expect: [200, 204, 301], accepted: [200, 204, 301], refused: [201, 300, 302] },
    { expect: [503, 200, 418], accepted: [200, 418, 503], refused: [201, 500] },
  ]
  for (const c of cases) {
    const accepts = statusMatcher(c.expect)
    for (const s of c.accepted) t.equal(accepts(s), true, `${JSON.stringify(c.expect)} accepts ${s}`)
    for (const s of c.refused) t.equal(accepts(s), false, `${JSON.stringify(c.expect)} refuses ${s}`)
  }
})
