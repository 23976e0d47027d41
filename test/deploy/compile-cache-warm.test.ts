// The image fills Node's compile cache at build time by starting the gateway once (Dockerfile): a start with that
// cache, read-only or not, reads main.ts and the bundle already stripped and never loads Node's TypeScript stripper
// (amaro, ~27 MiB). A cold cache (a pod's empty /tmp) loads it at every new pod.
import { join } from 'node:path'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'
import { startCli, writeConfig } from '../helpers/cli-process.ts'

// reports, as the process exits, whether the stripper was ever loaded
const PROBE = `data:text/javascript,process.on('exit', () => process.stderr.write('stripper loaded: ' + process.moduleLoadList.some((m) => m.includes('amaro')) + '\\n'))`

t.test('a start after one that filled the cache loads no TypeScript stripper', async (t) => {
  const dir = t.testdir({})
  const file = join(dir, 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 1000 },
    pools: { p: { targets: ['http://127.0.0.1:1'] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const env = { NODE_COMPILE_CACHE: join(dir, 'compile-cache') }
  const nodeArgs = [...NODE_FLAGS, '--import', PROBE, 'src/start.mjs']
  const strippedOnStart = async (): Promise<string> => {
    const cli = await startCli(t, file, { env, nodeArgs })
    cli.kill('SIGTERM')
    await cli.exited
    return /stripper loaded: (true|false)/.exec(cli.stderr())?.[1] ?? `no probe line in: ${cli.stderr()}`
  }
  t.equal(await strippedOnStart(), 'true', 'the first start, cold, strips the TypeScript')
  t.equal(await strippedOnStart(), 'false', 'the next one reads it from the cache')
})
