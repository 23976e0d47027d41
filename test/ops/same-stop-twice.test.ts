// One stop delivered twice is one stop (review r41h): `npm start` exec's node, and a terminal's Ctrl-C, systemd's
// control-group kill or `kill -- -PGID` signals node and npm, which forwards the signal to node a few ms later. That
// copy was taken for a second signal: exit 1 at once, the drain cut, in 7 runs of 12. The same signal again within
// 250 ms is now the same stop (src/main.ts SAME_STOP_MS): the drain runs, the request in flight is answered, exit 0.
// Sent through npm itself, in its own process group, as a terminal sends Ctrl-C.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { cliEnv, slowUpstreamConfig, startCli } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

t.test('the same SIGINT twice, ms apart: one graceful stop, the request in flight answered, exit 0', async (t) => {
  const { file, slow } = await slowUpstreamConfig(t, 1500)
  // npm's forward, 20 ms after the group's signal: two deliveries the kernel cannot merge into one
  const preload = join(dirname(file), 'forward-again.mjs')
  writeFileSync(preload, "process.once('SIGINT', () => setTimeout(() => process.kill(process.pid, 'SIGINT'), 20))\n")
  const cli = await startCli(t, file, { nodeArgs: ['--import', preload, 'src/main.ts'] })
  const answer = fetch(`${cli.url}/held`).then((r) => r.status, () => 'cut')
  while (slow.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 20))
  cli.kill('SIGINT')
  t.same(await cli.exited, { code: 0, signal: null })
  t.equal(await answer, 200)
  t.notOk(cli.records.some((r) => r.level === 40 && r.signal === 'SIGINT'), 'no "second signal" warning')
})

t.test('npm start in its own process group, the group signalled as Ctrl-C does: a graceful stop', async (t) => {
  const { file, slow } = await slowUpstreamConfig(t, 1500)
  const npm = spawn('npm', ['start', '--', '--config', file], { cwd: ROOT, env: cliEnv({ PATH: `${join(ROOT, 'node_modules/.bin')}:${process.env.PATH ?? ''}` }), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  t.teardown(() => { try { process.kill(-npm.pid!, 'SIGKILL') } catch {} })
  let out = ''
  npm.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  npm.stderr.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const deadline = Date.now() + 30_000
  let url: string | undefined
  while (url === undefined && Date.now() < deadline) {
    url = /switchyard listening on (http:\/\/[^ "]+)/.exec(out)?.[1]
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(url, 'listening')
  const answer = fetch(`${url}/held`).then((r) => r.status, () => 'cut')
  while (slow.requests.length < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  process.kill(-npm.pid!, 'SIGINT')
  await once(npm, 'close')
  t.equal(await answer, 200, 'the request in flight answered')
  t.notMatch(out, /second SIGINT/, 'no second signal taken')
  t.match(out, /"msg":"shutting down"/)
})
