import t from 'tap'
import { statusMatcher } from '../../src/health/expect-status.ts'
import { poolConfig } from './config-fixtures.ts'

t.test('statusMatcher: numbers are statuses, strings are statuses or ranges', async (t) => {
  const cases: { expect: (number | string)[]; accepted: number[]; refused: number[] }[] = [
    { expect: ['200-399'], accepted: [200, 204, 301, 399], refused: [100, 199, 400, 404, 500, 503] },
    { expect: ['200-204'], accepted: [200, 201, 204], refused: [199, 205, 404] },
    { expect: [204, 200], accepted: [200, 204], refused: [201, 203, 500] },
    { expect: ['200', '204'], accepted: [200, 204], refused: [201, 203] },
    { expect: [200, 200], accepted: [200], refused: [199, 201] },
    { expect: [200], accepted: [200], refused: [201, 204, 399] },
    { expect: [200, 204, 301], accepted: [200, 204, 301], refused: [201, 300, 302] },
    { expect: ['200-299', 418], accepted: [200, 250, 299, 418], refused: [300, 417, 419] },
  ]
  for (const c of cases) {
    const accepts = statusMatcher(c.expect)
    for (const s of c.accepted) t.equal(accepts(s), true, `${JSON.stringify(c.expect)} accepts ${s}`)
    for (const s of c.refused) t.equal(accepts(s), false, `${JSON.stringify(c.expect)} refuses ${s}`)
  }
})

t.test('expectStatus in the config: the old two-number range is refused with how to write it', async (t) => {
  t.strictSame(poolConfig({ healthCheck: {} }).healthCheck!.expectStatus, ['200-399'], 'the default is an explicit range')
  for (const ok of [[200, 204, 301], [204, 200], ['200-204'], ['200', '204'], [200]]) {
    t.doesNotThrow(() => poolConfig({ healthCheck: { expectStatus: ok } }), JSON.stringify(ok))
  }
  const refused: [unknown, RegExp][] = [
    [[200, 204], /^pools\.p\.healthCheck\.expectStatus: .*'200-204'.*'200', '204'/],
    [['399-200'], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
    [['2xx'], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
    [[], /^pools\.p\.healthCheck\.expectStatus: /],
    [[99], /^pools\.p\.healthCheck\.expectStatus\[0\]: /],
  ]
  for (const [expectStatus, problem] of refused) {
    t.throws(() => poolConfig({ healthCheck: { expectStatus } }), { code: 'invalid_config', problems: [problem] }, JSON.stringify(expectStatus))
  }
})
