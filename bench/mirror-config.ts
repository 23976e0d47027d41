// The mirror under test in bench/mirror.ts: the release issue's example share and concurrency limit.
export const MIRROR = { pool: 'shadow', percent: 5, maxConcurrent: 64 } as const
