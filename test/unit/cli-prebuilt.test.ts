// When main.ts runs the prebuilt bundle instead of the sources: only while every file recorded at build time
// (sources; a dependency by its package.json) is unchanged, in the checkout it was built in.
import { rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import t, { type Test } from 'tap'
import { BUNDLE_NAME, DIST, MANIFEST_NAME, freshBundle, isBundle, type Manifest } from '../../src/cli/prebuilt.ts'

const INPUTS = ['src/a.ts', 'node_modules/dep/package.json']

function checkout (t: Test): { dir: string; root: URL; dist: URL } {
  const dir = t.testdir({
    src: { 'a.ts': 'export const a = 1\n' },
    node_modules: { dep: { 'package.json': '{"version":"1.0.0"}' } },
    dist: { [BUNDLE_NAME]: '// the bundle\n' },
  })
  const root = pathToFileURL(dir + '/')
  const inputs: Manifest['inputs'] = {}
  for (const file of INPUTS) {
    const info = statSync(join(dir, file))
    inputs[file] = [info.size, info.mtimeMs]
  }
  writeFileSync(join(dir, 'dist', MANIFEST_NAME), JSON.stringify({ root: root.href, inputs } satisfies Manifest))
  return { dir, root, dist: new URL('dist/', root) }
}

t.test('a build from the files on disk now is used', async (t) => {
  const { root, dist } = checkout(t)
  t.equal(freshBundle(dist, root)?.href, new URL(BUNDLE_NAME, dist).href)
})

t.test('any change since the build means the sources run', async (t) => {
  const later = new Date(Date.now() + 60_000)
  const cases: [label: string, change: (dir: string) => void][] = [
    ['a source touched (same size)', (dir) => utimesSync(join(dir, 'src/a.ts'), later, later)],
    ['a source edited', (dir) => writeFileSync(join(dir, 'src/a.ts'), 'export const a = 12\n')],
    ['a source deleted', (dir) => rmSync(join(dir, 'src/a.ts'))],
    ['a dependency reinstalled', (dir) => utimesSync(join(dir, 'node_modules/dep/package.json'), later, later)],
    ['no manifest', (dir) => rmSync(join(dir, 'dist', MANIFEST_NAME))],
    ['a corrupt manifest', (dir) => writeFileSync(join(dir, 'dist', MANIFEST_NAME), '{"root":')],
  ]
  for (const [label, change] of cases) {
    const { dir, root, dist } = checkout(t)
    change(dir)
    t.equal(freshBundle(dist, root), undefined, label)
  }
  const { dist } = checkout(t)
  t.equal(freshBundle(dist, pathToFileURL(t.testdir() + '/')), undefined, 'built in another checkout')
})

t.test('a source edited with its modification time kept (cp -p, rsync -t, tar) means the sources run', async (t) => {
  // the size is then the only sign of the edit: a bundle of the old content must not run in its place
  const { dir, root, dist } = checkout(t)
  const file = join(dir, 'src/a.ts')
  const kept = new Date('2024-01-02T03:04:05Z')
  utimesSync(file, kept, kept)
  const recorded = statSync(file)
  writeFileSync(join(dir, 'dist', MANIFEST_NAME), JSON.stringify({ root: root.href, inputs: { 'src/a.ts': [recorded.size, recorded.mtimeMs] } } satisfies Manifest))
  t.equal(freshBundle(dist, root)?.href, new URL(BUNDLE_NAME, dist).href, 'used as recorded')
  writeFileSync(file, 'export const a = 12\n')
  utimesSync(file, kept, kept)
  t.equal(statSync(file).mtimeMs, recorded.mtimeMs, 'the same modification time as recorded')
  t.equal(freshBundle(dist, root), undefined, 'the sources run')
})

t.test('only the bundle counts as the bundle', async (t) => {
  t.ok(isBundle(new URL(BUNDLE_NAME, DIST).href))
  t.notOk(isBundle(new URL('../../src/main.ts', import.meta.url).href))
})
