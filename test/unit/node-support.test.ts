// The Node.js releases the gateway starts on (src/node-support.mjs, package.json's engines): below the floors it
// refuses at start with one line naming what it needs, not a stack trace, nor a start that misbehaves later (a
// reload that never re-reads a file the config require()s; a config that cannot load). A review (r43c) ran the
// gateway on 12 releases to find them.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { SUPPORTED_NODE, unsupportedNode } from '../../src/node-support.mjs'

t.test('the floors of each release line', async (t) => {
  const cases: [string, boolean][] = [
    ['20.20.2', false], ['22.19.0', false], ['22.22.0', false], ['22.22.1', true], ['22.23.3', true],
    ['23.11.1', false], ['24.4.1', false], ['24.13.0', false], ['24.13.1', true], ['24.21.0', true],
    ['25.3.0', false], ['25.9.0', false], ['26.0.0', true], ['27.1.0', true],
  ]
  for (const [version, runs] of cases) {
    const refusal = unsupportedNode(version)
    t.equal(refusal === undefined, runs, `${version}: ${runs ? 'runs' : 'refused'}`)
    if (!runs) t.match(refusal, `v${version}`, 'the refusal names the running version')
  }
  t.equal(unsupportedNode(), undefined, 'the Node running the tests is supported')
})

t.test("package.json's engines names the same floors", async (t) => {
  const { engines } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } }
  t.equal(engines.node, '^22.22.1 || ^24.13.1 || >=26')
  t.match(SUPPORTED_NODE, /22\.22\.1.*24\.13\.1.*26/)
})
