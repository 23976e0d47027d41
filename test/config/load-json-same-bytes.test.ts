// A JSON config reads nothing but its own bytes: loaded again with the same bytes (a POST /reload with nothing
// changed), it is the same config, not parsed and validated again (5,000 routes: ~50 ms of blocking per reload).
// New bytes are loaded afresh.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

const body = (target: string): string => JSON.stringify({ pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })

t.test('the same bytes of a JSON config are the same config; new bytes are loaded afresh', async (t) => {
  const dir = t.testdir()
  const file = join(dir, 'routes.config.json')
  await writeFile(file, body('http://a:1'))
  const first = await loadConfigFile(file)
  t.equal(await loadConfigFile(file), first, 'the same bytes: the config already made of them')
  await writeFile(file, body('http://b:1'))
  const second = await loadConfigFile(file)
  t.not(second, first)
  t.equal(second.pools.p!.targets[0]!.url, 'http://b:1', 'new bytes: the new config')
  await writeFile(file, body('http://a:1'))
  const third = await loadConfigFile(file)
  t.equal(third.pools.p!.targets[0]!.url, 'http://a:1', 'the first bytes again: loaded, not the last config')
})
