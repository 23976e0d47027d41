// The problems validateConfig reports for a config ([] when it is valid), and a small valid config to vary.
import { ConfigError } from '../../src/errors.ts'
import { validateConfig } from '../../src/config/validate.ts'

export function problemsOf (input: unknown): readonly string[] {
  try {
    validateConfig(input)
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return err.problems
  }
}

/** The paths of the problems (the part before the first ': '). */
export function problemPaths (input: unknown): string[] {
  return problemsOf(input).map((p) => p.slice(0, p.indexOf(': ')))
}

/** Three pools (a, b, c) and one route to a; `extra` replaces top-level fields. */
export function baseConfig (extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    secret: 'a-secret-of-16-chars',
    pools: { a: { targets: ['http://127.0.0.1:1'] }, b: { targets: ['http://127.0.0.1:2'] }, c: { targets: ['http://127.0.0.1:3'] } },
    routes: [{ path: '/a', pool: 'a' }],
    ...extra,
  }
}
