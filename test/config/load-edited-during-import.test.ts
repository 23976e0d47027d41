// A config edited while it is imported (its top-level await still pending when the new bytes land) ran one version
// or the other: the load stands for neither, so it is not remembered for `reuse`, and what an earlier load of the
// same path remembered is dropped too. A later file event must run the config again, not skip it as "unchanged"
// on the strength of a load that may not have run the bytes the file now holds.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'

interface Race { evaluations: number; hold?: (() => Promise<void>) | undefined }
const race = globalThis as { loadRace?: Race }
race.loadRace = { evaluations: 0 }

const source = (target: string): string => `globalThis.loadRace.evaluations++
await globalThis.loadRace.hold?.()
export default { pools: { a: { targets: [${JSON.stringify(target)}] } }, routes: [{ path: '/', pool: 'a' }] }
`

t.test('a load that an edit raced is not reused, nor is the load before it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-edited-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.mjs')
  await writeFile(file, source('http://a:1'))
  await loadConfigFile(file) // remembered: these bytes gave this config
  t.equal(race.loadRace!.evaluations, 1)

  // the next load's import waits in its top-level await while the file is edited
  const { promise: started, resolve: start } = Promise.withResolvers<void>()
  const { promise: gate, resolve: open } = Promise.withResolvers<void>()
  race.loadRace!.hold = () => { start(); return gate }
  const loading = loadConfigFile(file)
  await started
  await writeFile(file, source('http://b:1'))
  open()
  const raced = await loading
  race.loadRace!.hold = undefined
  t.equal(race.loadRace!.evaluations, 2)

  // the file is back to the bytes both loads read first; the running config is the raced load's
  await writeFile(file, source('http://a:1'))
  const loaded = await loadConfigFile(file, { reuse: raced })
  t.equal(race.loadRace!.evaluations, 3, 'the config ran again')
  t.not(loaded, raced, 'a fresh config, not the running one handed back')
})
