// A JSON config reads nothing but its own bytes: loaded again with the same bytes (a POST /reload with nothing
// changed), it is the same config, not parsed and validated again (5,000 routes: ~50 ms of blocking per reload).
// New bytes are loaded afresh.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { loadConfigFile, loadedBytesHash } from '../../src/config/load.ts'

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

// loadedBytesHash(file) is what the watcher is told the running config came from (src/main.ts, at start and after a
// reload it did not start): the sha256 of the file's bytes in hex, as the watcher's own reads give it, nothing
// more. Anything else (the file URL before it) never equals a read, and the watcher reloads at every start and after
// every POST /reload; the CLI tests only see the config that ends up running, which is the same either way.
t.test('loaded-bytes-hash', async (t) => {
  const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex')
  const BODY = { pools: { p: { targets: ['http://a:1'] } }, routes: [{ path: '/', pool: 'p' }] }

  t.test('the hash of the bytes a config was loaded from, JSON or code', async (t) => {
    // '#' in a directory name: a file URL encodes it, so it cannot be taken for the hash's separator
    const dir = t.testdir({ 'a#b': {} })
    const json = join(dir, 'a#b', 'routes.config.json')
    writeFileSync(json, JSON.stringify(BODY))
    t.equal(loadedBytesHash(json), undefined, 'never loaded: unknown')
    await loadConfigFile(json)
    t.equal(loadedBytesHash(json), sha256(json))
    t.match(loadedBytesHash(json), /^[0-9a-f]{64}$/)

    const code = join(dir, 'routes.config.ts')
    writeFileSync(code, `export default ${JSON.stringify(BODY)}\n`)
    await loadConfigFile(code)
    t.equal(loadedBytesHash(code), sha256(code))

    writeFileSync(json, JSON.stringify({ ...BODY, routes: [{ path: '/x', pool: 'p' }] }))
    const before = loadedBytesHash(json)
    t.not(before, sha256(json), 'an edit not loaded yet keeps the hash of the bytes that ran')
    await loadConfigFile(json)
    t.equal(loadedBytesHash(json), sha256(json), 'loaded: the new bytes')
  })
})
