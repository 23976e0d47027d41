// Loads a routes.config.ts (or .js/.mjs/.json) file from anywhere on disk and validates it.
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.ts'
import type { ResolvedConfig } from './schema.ts'
import { validateConfig } from './validate.ts'

let loadCount = 0

export async function loadConfigFile (file: string): Promise<ResolvedConfig> {
  const path = resolve(file)
  let exported: unknown
  try {
    if (path.endsWith('.json')) {
      exported = JSON.parse(await readFile(path, 'utf8'))
    } else {
      // A fresh query string per load: ESM caches modules by URL, and a reload must see the new file.
      const mod = await import(`${pathToFileURL(path).href}?load=${++loadCount}`) as { default?: unknown }
      exported = mod.default
    }
  } catch (err) {
    throw new ConfigError([`cannot load: ${(err as Error).message.split('\n')[0]}`], path)
  }
  if (exported === undefined) throw new ConfigError(['has no default export'], path)
  return validateConfig(exported, path)
}
