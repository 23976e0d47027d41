// A reload runs a .ts config again, so what it reads when it runs (a targets.json beside it) is read afresh: an
// explicit reload (POST /reload, SIGHUP) always, and a file change whenever the content is not the running one's.
// Only a file event for the bytes the running config came from reuses it (the no-op costs no module). Before, a
// result was kept for each content ever loaded: rolling the config back to an earlier version's bytes brought back
// that version's targets (one removed two edits ago), and SIGHUP never saw an edit to targets.json.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { buildGateway, type Gateway } from '../../src/app.ts'
import { loadConfigFile } from '../../src/config/load.ts'
import { TestUpstream } from '../helpers/upstream.ts'

const counts = globalThis as { rerunEvaluations?: number }

/** A config that takes its targets from targets.json and counts its runs; `extra` adds a route (another version). */
const source = (extra: boolean): string => `import { readFileSync } from 'node:fs'
globalThis.rerunEvaluations = (globalThis.rerunEvaluations ?? 0) + 1
const targets: string[] = JSON.parse(readFileSync(new URL('./targets.json', import.meta.url), 'utf8'))
export default { pools: { p: { targets } }, routes: [{ path: '/', pool: 'p' }${extra ? ", { path: '/extra', pool: 'p' }" : ''}] }
`

const silent = (): Writable => new Writable({ write (_chunk, _encoding, done) { done() } })

interface Setup { gw: Gateway; file: string; targets: (...urls: string[]) => Promise<void>; answeredBy: () => Promise<string>; upstreams: TestUpstream[] }

async function setup (t: Test): Promise<Setup> {
  const upstreams = await Promise.all(['a', 'b', 'c'].map((name) => TestUpstream.start({ name })))
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-rerun-'))
  const file = join(dir, 'routes.config.ts')
  const targets = (...urls: string[]): Promise<void> => writeFile(join(dir, 'targets.json'), JSON.stringify(urls))
  await targets(upstreams[0]!.url)
  await writeFile(file, source(false))
  // as main.ts starts it: the config the gateway runs is the one loadConfigFile gave
  const gw = buildGateway(await loadConfigFile(file), { configFile: file, defaultMetrics: false, env: {}, logStream: silent() })
  const url = await gw.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(async () => {
    await gw.close()
    for (const u of upstreams) await u.close()
    await rm(dir, { recursive: true, force: true })
  })
  const answeredBy = async (): Promise<string> => ((await (await fetch(`${url}/x`)).json()) as { name: string }).name
  return { gw, file, targets, answeredBy, upstreams }
}

t.test('rolling the config back to an earlier version runs it again: the targets are those of targets.json now', async (t) => {
  const { gw, file, targets, answeredBy, upstreams: [, b, c] } = await setup(t)
  await targets(b!.url)
  await writeFile(file, source(true))
  t.equal((await gw.reload('admin')).result, 'success')
  t.equal(await answeredBy(), 'b')
  await targets(c!.url)
  await writeFile(file, source(false)) // the first version's bytes
  t.equal((await gw.reload('admin')).result, 'success', 'by POST /reload')
  t.equal(await answeredBy(), 'c', 'not the target the first version had')
  await targets(b!.url)
  await writeFile(file, source(true))
  t.equal((await gw.reload('file')).result, 'success', 'by the file watcher')
  t.equal(await answeredBy(), 'b')
})

t.test('SIGHUP or POST /reload with the config unchanged reads targets.json again', async (t) => {
  const { gw, targets, answeredBy, upstreams: [, b, c] } = await setup(t)
  await targets(b!.url)
  t.equal((await gw.reload('signal')).result, 'success', 'SIGHUP')
  t.equal(await answeredBy(), 'b')
  await targets(c!.url)
  t.equal((await gw.reload('admin')).result, 'success', 'POST /reload')
  t.equal(await answeredBy(), 'c')
})

t.test('a file event for the bytes the running config came from runs nothing', async (t) => {
  const { gw, file } = await setup(t)
  const runs = counts.rerunEvaluations
  t.equal((await gw.reload('file')).result, 'unchanged')
  t.equal(counts.rerunEvaluations, runs, 'the config was not run')
  // the same holds for a config a reload applied
  await writeFile(file, source(true))
  t.equal((await gw.reload('file')).result, 'success')
  const after = counts.rerunEvaluations
  t.equal((await gw.reload('file')).result, 'unchanged')
  t.equal(counts.rerunEvaluations, after)
})

t.test('loadConfigFile reuses only the config it is given, and only while the file holds its bytes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-rerun-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'routes.config.ts')
  await writeFile(join(dir, 'targets.json'), JSON.stringify(['http://a:1']))
  await writeFile(file, source(false))
  const first = await loadConfigFile(file)
  t.equal(await loadConfigFile(file, { reuse: first }), first, 'unchanged: the same config, not run again')
  t.not(await loadConfigFile(file), first, 'without reuse it runs again')
  await writeFile(file, source(true))
  const second = await loadConfigFile(file, { reuse: first })
  t.not(second, first, 'other bytes: run')
  await writeFile(file, source(false))
  t.not(await loadConfigFile(file, { reuse: second }), first, 'back to the first bytes: run, not the first result')
})
