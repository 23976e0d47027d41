// The benchmark's outside tools (wrk, nginx): found on the machine, or installed from Debian when missing.
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

// nginx lives in /usr/sbin, which a non-login PATH may lack
const EXTRA_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin']

export function findBinary (name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS]) {
    if (dir === '') continue
    const path = join(dir, name)
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch { /* not here */ }
  }
  return undefined
}

let aptUpdated = false

/**
 * The binary's path; when it is absent, `apt-get install -y <pkg>` first (after one `apt-get update`).
 * Undefined when it cannot be had (no apt, not root, no network): the caller falls back.
 */
export function ensureDebianBinary (binary: string, pkg: string, log: (line: string) => void): string | undefined {
  const found = findBinary(binary)
  if (found !== undefined) return found
  if (findBinary('apt-get') === undefined) {
    log(`${binary}: not installed and no apt-get here`)
    return undefined
  }
  log(`${binary}: not installed; installing the Debian package ${pkg}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const run = (args: string[]): boolean => {
    // output goes to stderr so stdout stays the result table; bounded so a stuck mirror cannot hang the bench
    const r = spawnSync('apt-get', args, { env, stdio: ['ignore', 2, 2], timeout: 300_000 })
    return r.status === 0
  }
  if (!aptUpdated) aptUpdated = run(['update'])
  if (!aptUpdated || !run(['install', '-y', '--no-install-recommends', pkg])) {
    log(`${binary}: installing ${pkg} failed`)
    return undefined
  }
  return findBinary(binary)
}

/** First line of a tool's version banner (wrk prints it and exits 1; nginx -v prints to stderr). */
export function versionOf (binary: string, args: string[]): string {
  const r = spawnSync(binary, args, { encoding: 'utf8', timeout: 5000 })
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '')?.trim() ?? 'unknown version'
}
