// The prebuilt gateway: src/main.ts and everything it imports bundled into one file, dist/switchyard.mjs, so a
// start loads one module instead of ~560 (Node's loader costs per file: resolving, reading, linking).
// `npm run build` makes it (src/cli/build.ts; `npm install` runs it too). main.ts runs it only while every file
// it was built from still has the size and modification time it had then: an edited source, a changed
// dependency, a moved checkout or no build at all simply means the sources run, as before.
import { readFileSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const ROOT = new URL('../../', import.meta.url)
export const DIST = new URL('dist/', ROOT)
export const BUNDLE_NAME = 'switchyard.mjs'
export const MANIFEST_NAME = 'switchyard.inputs.json'

export interface Manifest {
  /** The checkout the bundle was built in: its modules still read files beside their sources. */
  root: string
  /** The files the bundle was built from (a dependency: its package.json), relative to root: [size, mtimeMs]. */
  inputs: Record<string, [number, number]>
}

/** Whether a module is the bundle (the one JavaScript copy of main.ts): then it runs, and looks for no bundle. */
export function isBundle (moduleUrl: string): boolean {
  return moduleUrl.endsWith('.mjs')
}

/** The bundle in `dist`, if it was built from exactly the files on disk now; undefined otherwise. */
export function freshBundle (dist: URL = DIST, root: URL = ROOT): URL | undefined {
  let manifest: Manifest
  try {
    manifest = JSON.parse(readFileSync(new URL(MANIFEST_NAME, dist), 'utf8')) as Manifest
  } catch {
    return undefined
  }
  if (manifest.root !== root.href) return undefined
  const rootPath = fileURLToPath(root)
  for (const [file, [size, mtimeMs]] of Object.entries(manifest.inputs)) {
    const now = statSync(rootPath + file, { throwIfNoEntry: false })
    if (now === undefined || now.size !== size || now.mtimeMs !== mtimeMs) return undefined
  }
  return new URL(BUNDLE_NAME, dist)
}
