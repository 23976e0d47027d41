// The Node.js releases the gateway runs on (package.json's engines), checked first at start. Plain JavaScript, so an
// older Node reads it: Node 20 would otherwise stop at a stack trace (no TypeScript stripping, no compile cache), and
// the releases below the floors start but misbehave: on 22.19-22.22.0, 24.5-24.13.0 and 25.0-25.3 a reload never
// re-reads a file the config require()s (their createRequire() hands the module hooks a parent URL without its
// query, src/config/config-modules.ts), and 23.x and 24.0-24.4 fail to load a config (context.conditions is no array).

export const SUPPORTED_NODE = '22.22.1 or a later 22.x, 24.13.1 or a later 24.x, or 26 and later'

/** Why this Node cannot run the gateway (a line for the operator), or undefined when it can. */
export function unsupportedNode (version = process.versions.node) {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number)
  const atLeast = (m, p) => minor > m || (minor === m && patch >= p)
  // 25.4 and later run too, but 25 is no LTS line (ended 2026-06) and opossum does not declare it: as engines says
  const runs = major === 22 ? atLeast(22, 1) : major === 24 ? atLeast(13, 1) : major >= 26
  return runs ? undefined : `switchyard needs Node.js ${SUPPORTED_NODE} (this is v${version})`
}
