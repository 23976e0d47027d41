// A dashboard bundle that failed once (esbuild's binary missing while an image is being fixed, a transient spawn
// failure) must not stay failed for the life of the gateway: the failed build is forgotten and the next request
// builds again. Before, the rejected build would be kept and every later page load answered 500
// dashboard_unavailable until the gateway was restarted.
import { chmodSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import t from 'tap'
import { startGateway } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

// esbuild reads ESBUILD_BINARY_PATH when it is first imported (the first page load): a stand-in that fails until
// a flag file exists, then runs the real binary
const dir = t.testdir({})
const flag = join(dir, 'esbuild-works')
const real = createRequire(import.meta.url).resolve(`@esbuild/${process.platform}-${process.arch}/bin/esbuild`)
const wrapper = join(dir, 'esbuild')
writeFileSync(wrapper, `#!/bin/sh\n[ -e '${flag}' ] && exec '${real}' "$@"\nexit 1\n`)
chmodSync(wrapper, 0o755)
process.env.ESBUILD_BINARY_PATH = wrapper

t.test('after a failed dashboard bundle, the next request builds it again', { skip: process.platform === 'win32' && 'a shell script stands in for esbuild' }, async (t) => {
  const u = await TestUpstream.start({ name: 'u' })
  const gw = await startGateway({ pools: { p: { targets: [u.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(async () => { await gw.close(); await u.close() })
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })

  const failed = await fetch(admin + '/dashboard/app.js')
  t.equal(failed.status, 500, 'esbuild cannot run: 500')
  t.equal((await failed.json() as { error: string }).error, 'dashboard_unavailable')

  writeFileSync(flag, '') // esbuild works again
  const res = await fetch(admin + '/dashboard/app.js')
  t.equal(res.status, 200, 'built on the next request')
  t.match(res.headers.get('content-type'), /^text\/javascript/)
  t.ok((await res.text()).length > 0)
})
