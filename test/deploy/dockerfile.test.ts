// No Docker engine runs here, so the image's key properties are checked in the Dockerfile itself.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { NODE_FLAGS } from '../../src/lifecycle/node-flags.ts'

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')
const instructions = dockerfile.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))
const froms = instructions.filter((l) => l.startsWith('FROM '))

t.test('multi-stage build on the official Node 24 slim image', async (t) => {
  t.ok(froms.length >= 2, 'at least two stages')
  for (const from of froms) t.match(from, /^FROM node:24(\.\d+)*-slim\b/)
})

t.test('production dependencies only, from the lock file', async (t) => {
  t.ok(instructions.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l)))
  t.ok(instructions.some((l) => /^COPY package\.json package-lock\.json/.test(l)))
})

t.test('runs as a non-root user', async (t) => {
  const users = instructions.filter((l) => l.startsWith('USER '))
  t.ok(users.length > 0)
  t.not(users.at(-1), 'USER root')
  const lastFrom = instructions.lastIndexOf(froms.at(-1)!)
  t.ok(instructions.indexOf(users.at(-1)!) > lastFrom, 'USER is set in the final stage')
})

t.test('exec-form entrypoint so SIGTERM reaches node', async (t) => {
  const entry = instructions.find((l) => l.startsWith('ENTRYPOINT '))
  t.ok(entry)
  const argv = JSON.parse(entry!.slice('ENTRYPOINT '.length)) as string[]
  t.equal(argv[0], 'node')
  t.same(argv.slice(1, -1), NODE_FLAGS, 'the V8 flags the gateway ships with')
  t.equal(argv.at(-1), 'src/main.ts')
})

t.test('npm start runs with the same V8 flags', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.start, `node ${NODE_FLAGS.join(' ')} src/main.ts --config routes.config.ts`)
})

t.test('config read from /etc/switchyard/routes.config.ts by default', async (t) => {
  t.match(dockerfile, /SWITCHYARD_CONFIG=\/etc\/switchyard\/routes\.config\.ts/)
  t.match(dockerfile, /COPY routes\.config\.ts \/etc\/switchyard\/routes\.config\.ts/)
})
