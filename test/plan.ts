// The suite's processes. One process per test file cost more CPU than most files' tests: Node's start, tap and its
// loader hooks, and the imports of src/ again each time (about 1 CPU-second a file; 413 files were ~820 CPU-seconds,
// over 8 minutes on 2 cores). So `npm test` runs the files of a folder a few at a time in one process, each file
// imported in turn (entries written to test/.groups/), and runs alone only the files that need a process of their
// own (SOLO, with why). `node test/x.test.ts` and `tap test/x.test.ts` still run one file.
//
//   node test/plan.ts          writes the entries; prints the files for tap, one per line
//   node test/plan.ts --check  exits 1 unless every test file is run exactly once (test/unit/test-plan.test.ts)
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const TEST = fileURLToPath(new URL('.', import.meta.url))
const ROOT = join(TEST, '..')
export const GROUPS_DIR = join(TEST, '.groups')

/** Files that run in a process of their own, relative to test/, with the reason. */
export const SOLO: Readonly<Record<string, string>> = {
  'admin/dashboard-bundle-fails.test.ts': 'points esbuild at a failing binary for the process (ESBUILD_BINARY_PATH)',
  'admin/dashboard-bundle-retry.test.ts': 'points esbuild at a wrapper for the process (ESBUILD_BINARY_PATH)',
  'admin/leak-dashboard-esbuild-stopped.test.ts': "counts the process's esbuild children from its first bundle on",
  'ops/reload-leak.test.ts': 'measures the heap, with a collection on demand (--expose-gc set at run time)',
  'ops/transient-local-errors.test.ts': "fails the process's first prom-client import (one registry per process)",
  'unit/proxy-reclaim.test.ts': "counts the process's diagnostics_channel subscribers",
}

/**
 * Seconds a file of each folder takes, on average, in a clean-clone CI run on 2 cores (the dashboard's drive a
 * browser; deploy's build and start the CLI). A process gets about PROCESS_SECONDS of them, and the costliest
 * processes start first (tap runs files in name order: the entries are named by rank), so that no long one is left
 * to run alone at the end.
 */
const SECONDS_PER_FILE: Readonly<Record<string, number>> = {
  dashboard: 19, deploy: 5, ops: 2.4, config: 2.1, reliability: 2.1, discovery: 1.5, resilience: 1.2, release: 1.1, proxy: 0.9,
}
const DEFAULT_SECONDS_PER_FILE = 0.5
const PROCESS_SECONDS = 25

const secondsPerFile = (folder: string): number => SECONDS_PER_FILE[folder] ?? DEFAULT_SECONDS_PER_FILE
/** Folders whose files drive a browser; other processes run between two of theirs. */
const BROWSER_FOLDERS = new Set(['dashboard'])
const BETWEEN_BROWSERS = 2

/** Every test file, relative to test/, sorted. */
export function testFiles (): string[] {
  const found: string[] = []
  for (const folder of readdirSync(TEST, { withFileTypes: true })) {
    if (!folder.isDirectory() || folder.name.startsWith('.')) continue
    for (const file of readdirSync(join(TEST, folder.name))) {
      if (file.endsWith('.test.ts')) found.push(`${folder.name}/${file}`)
    }
  }
  return found.sort()
}

export interface Plan {
  /** Group name → its files (relative to test/), in the order they are imported. */
  groups: Map<string, string[]>
  solo: string[]
}

/** Each folder's files dealt round-robin into its processes, so the slow ones of a folder spread out. */
export function plan (files: readonly string[] = testFiles()): Plan {
  const groups = new Map<string, string[]>()
  const solo: string[] = []
  const byFolder = new Map<string, string[]>()
  for (const file of files) {
    if (SOLO[file] !== undefined) { solo.push(file); continue }
    const folder = file.slice(0, file.indexOf('/'))
    byFolder.set(folder, [...byFolder.get(folder) ?? [], file])
  }
  const planned: { name: string; files: string[]; seconds: number }[] = []
  for (const [folder, list] of byFolder) {
    const cost = secondsPerFile(folder)
    const perProcess = Math.max(2, Math.floor(PROCESS_SECONDS / cost))
    const processes = Math.ceil(list.length / perProcess)
    for (let i = 0; i < processes; i++) {
      const files = list.filter((_, index) => index % processes === i)
      planned.push({ name: `${folder}-${i + 1}`, files, seconds: files.length * cost })
    }
  }
  // Costliest first, but a browser's processes spread among the others: browsers at once on 2 cores slowed each
  // other down more than they gained (chromium renders in several processes of its own). Named by rank, as tap
  // sorts the files it is given by name.
  const byCost = (a: { seconds: number; name: string }, b: { seconds: number; name: string }): number => b.seconds - a.seconds || a.name.localeCompare(b.name)
  const browsers = planned.filter((p) => BROWSER_FOLDERS.has(p.name.slice(0, p.name.lastIndexOf('-')))).sort(byCost)
  const others = planned.filter((p) => !browsers.includes(p)).sort(byCost)
  const ordered: typeof planned = []
  while (browsers.length > 0 || others.length > 0) {
    const browser = browsers.shift()
    if (browser !== undefined) ordered.push(browser)
    ordered.push(...others.splice(0, BETWEEN_BROWSERS))
  }
  const width = String(ordered.length).length
  for (const [rank, { name, files }] of ordered.entries()) groups.set(`${String(rank + 1).padStart(width, '0')}-${name}`, files)
  return { groups, solo }
}

/** How long a process may run: tap's 120 s for its first file, and 30 s more for each further one. */
const timeoutMs = (files: number): number => 120_000 + 30_000 * (files - 1)

function writeEntries ({ groups }: Plan): string[] {
  rmSync(GROUPS_DIR, { recursive: true, force: true })
  mkdirSync(GROUPS_DIR, { recursive: true })
  const entries: string[] = []
  for (const [name, files] of groups) {
    const entry = join(GROUPS_DIR, `${name}.test.ts`)
    // Each file is imported in a subtest of its own, queued behind the subtests the previous file queued (the
    // files' t is tap's root): a file's top-level code runs once the previous file's tests are done, and does not
    // slow their timers.
    writeFileSync(entry, [
      `// Written by test/plan.ts: ${files.length} test files in one process, one after another.`,
      "import t from 'tap'",
      `t.setTimeout(${timeoutMs(files.length)})`,
      `for (const file of ${JSON.stringify(files.map((f) => `../${f}`))}) await t.test(file, () => import(file))`,
      '',
    ].join('\n'))
    entries.push(entry)
  }
  return entries
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = testFiles()
  const planned = plan(files)
  if (process.argv.includes('--check')) {
    const runs = [...planned.groups.values()].flat().concat(planned.solo)
    const missing = files.filter((f) => !runs.includes(f))
    const twice = runs.filter((f, i) => runs.indexOf(f) !== i)
    const unknownSolo = Object.keys(SOLO).filter((f) => !files.includes(f))
    for (const f of missing) console.error(`not run: ${f}`)
    for (const f of twice) console.error(`run twice: ${f}`)
    for (const f of unknownSolo) console.error(`SOLO names a file that does not exist: ${f}`)
    process.exit(missing.length + twice.length + unknownSolo.length > 0 ? 1 : 0)
  }
  const entries = writeEntries(planned)
  for (const file of [...entries, ...planned.solo.map((f) => join(TEST, f))]) console.log(relative(ROOT, file))
}
