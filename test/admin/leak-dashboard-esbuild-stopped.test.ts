// The dashboard's assets are bundled by esbuild inside the gateway the first time the page is opened. esbuild's JS
// API runs its Go service as a child process and keeps it for the life of the parent unless stopped: before, the
// gateway kept that idle process (~21 MiB) from the first page load on. The built assets are still kept in memory.
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { startGateway, waitFor } from '../helpers/gateway.ts'
import { TestUpstream } from '../helpers/upstream.ts'

/** This process's child processes named esbuild (a child that exited but is not reaped yet still counts). */
function esbuildChildren (): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // ended meanwhile
    }
    // pid (comm) state ppid …: comm may hold spaces or parentheses, so it ends at the last ')'
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === process.pid && comm === 'esbuild') found.push(Number(entry))
  }
  return found
}

t.test('after the dashboard is first served, no esbuild process is left; the assets are still served', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const up = await TestUpstream.start()
  t.teardown(() => up.close())
  const gw = await startGateway({ pools: { p: { targets: [up.url] } }, routes: [{ path: '/', pool: 'p' }] }, { defaultMetrics: false })
  t.teardown(() => gw.close())
  const admin = await gw.gateway.listenAdmin({ host: '127.0.0.1', port: 0 })
  t.same(esbuildChildren(), [], 'none before the page is opened')

  const etags: string[] = []
  for (const path of ['/', '/dashboard/app.js', '/dashboard/app.css']) {
    const res = await fetch(admin + path)
    t.equal(res.status, 200, path)
    etags.push(res.headers.get('etag') ?? '')
    await res.arrayBuffer()
  }
  // stop() signals the child and does not wait for it to exit
  await waitFor(() => esbuildChildren().length === 0, 3000).catch(() => {})
  t.same(esbuildChildren(), [], 'the esbuild service process was stopped after the build')

  // built once: served from memory, the same bytes, with no new build (which would start esbuild again)
  for (const [i, path] of ['/', '/dashboard/app.js', '/dashboard/app.css'].entries()) {
    const res = await fetch(admin + path, { headers: { 'if-none-match': etags[i]! } })
    t.equal(res.status, 304, `${path} unchanged`)
  }
  t.same(esbuildChildren(), [], 'and none started again')
})
