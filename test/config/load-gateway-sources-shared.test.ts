// A config that imports the gateway's own sources by relative path (`import { defineConfig } from
// '../switchyard/src/index.ts'`) shares the gateway's modules: only the config's own files are read again at each
// load. Before, the load's query was carried into src/ too, and every reload ran a fresh copy of the whole gateway
// source (about 1.9 MiB of heap and 200 ms per reload, never freed).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfigFile } from '../../src/config/load.ts'
import { defineConfig } from '../../src/index.ts'

const seen = globalThis as { configDefineConfig?: unknown; configHelperRuns?: number }

t.test('the gateway sources a config imports are the gateway\'s own modules; its own helper still runs again', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'switchyard-load-sources-'))
  t.teardown(() => { delete seen.configDefineConfig; delete seen.configHelperRuns; return rm(dir, { recursive: true, force: true }) })
  const index = relative(dir, fileURLToPath(new URL('../../src/index.ts', import.meta.url)))
  await writeFile(join(dir, 'helper.ts'), 'globalThis.configHelperRuns = (globalThis.configHelperRuns ?? 0) + 1\nexport const target = "http://a:1"\n')
  await writeFile(join(dir, 'routes.config.ts'), `import { defineConfig } from '${index}'\nimport { target } from './helper.ts'\n` +
    'globalThis.configDefineConfig = defineConfig\n' +
    "export default defineConfig({ pools: { p: { targets: [target] } }, routes: [{ path: '/', pool: 'p' }] })\n")
  for (let i = 0; i < 2; i++) {
    await loadConfigFile(join(dir, 'routes.config.ts'))
    t.equal(seen.configDefineConfig, defineConfig, `load ${i + 1}: src/index.ts is the module the gateway runs, not a copy`)
  }
  t.equal(seen.configHelperRuns, 2, 'the config\'s own helper ran at each load')
})
