// V8 and Node flags the gateway ships with (npm start, the Docker entrypoint, the benchmark and the memory test use these).
// Nothing calls gc() and --expose-gc is not needed: streamed bodies give their buffers back as they go
// (src/proxy/reclaim.ts). These two bound V8's own heap, measured on Node 24 under wrk at c=256:
// --max-semi-space-size=8: the young generation may otherwise grow to 2 × 64 MiB (new space 128 MiB after a
//   minute of load), most of a proxy's resident memory; 16 MiB keeps scavenges cheap (a proxy's young objects
//   die young).
// --heap-growing-percent=50: the old generation collects when it reaches 1.5× what the last full GC kept alive;
//   by default V8 let it grow to ~100 MiB of promoted garbage before its first full GC (20 MiB live).
// --min-semi-space-size=8: the young generation starts at its full size instead of 1 MiB. Start-up allocates
//   megabytes that all live on (modules, the config, pools and their connection queues), and a small young
//   generation copied them scavenge after scavenge: 1,000 routes over 200 targets were ready ~75 ms sooner
//   (bench/startup.ts). Under load it is at its maximum anyway, and pages are committed as they are used (RSS
//   after start unchanged); an operator's smaller --max-semi-space-size wins (V8 clamps the minimum to it).
// --disable-sigusr1 (Node's, not V8's): SIGUSR1 otherwise opens Node's inspector on 127.0.0.1:9229, and anything on
//   the pod's loopback (a sidecar) could then run code in the gateway; a USR1 sent from nginx habit (its log reopen)
//   did just that. With it the signal does nothing (SIGUSR2 reopens the log).
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=50', '--min-semi-space-size=8', '--disable-sigusr1']

// The environment the gateway ships with (npm start, the image, a re-execution below), read by the C library when
// the process starts, so it cannot be set later either. MALLOC_ARENA_MAX=1: glibc gives each thread that allocates
// (the main thread, V8's compiler and GC helpers, libuv's pool) an arena of its own, and memory freed in one is
// never reused by another; under wrk at c=256 one arena held the gateway's peak RSS ~11 MiB lower (147 → 136 MiB,
// bench/RESULTS.md). Other C libraries ignore it. An operator's own value stands.
export const C_LIBRARY_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' }

/** Set on the process a re-execution starts, so it never re-executes again. */
const REEXEC_MARK = 'SWITCHYARD_NODE_FLAGS_APPLIED'

/**
 * The shipped flags that `execArgv` and NODE_OPTIONS do not set yet. A flag is judged by its name: an operator's
 * own `--max-semi-space-size=32` stands, and is not overridden.
 */
export function missingNodeFlags (execArgv: readonly string[], nodeOptions = ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.split('=')[0]!.replaceAll('_', '-'))
  return NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!))
}

export interface ReexecEnvironment {
  execArgv: readonly string[]
  argv: readonly string[]
  env: NodeJS.ProcessEnv
  execPath: string
  /** process.execve (Node ≥ 23.11, not on Windows): replaces the running program, keeping the pid. */
  execve: ((file: string, args: string[], env: NodeJS.ProcessEnv) => never) | undefined
}

/**
 * `node src/main.ts` without the shipped V8 flags would run the gateway with V8's default heap sizing (young
 * generation up to 2 × 64 MiB on Node 24): twice the memory `npm start` and the image use. Those flags can only
 * be given at start, so the process starts itself again with them, in place: process.execve keeps the pid, the
 * open stdio and the parent, so signals, supervisors and log pipes see one process. Nothing happens when the
 * flags are there (npm start, the Docker entrypoint), when SWITCHYARD_NODE_FLAGS=off says to run as started, or
 * where execve is missing. Returns only when it does not re-execute.
 */
export function applyNodeFlags (runtime: ReexecEnvironment = currentProcess()): void {
  if (runtime.execve === undefined || runtime.env.SWITCHYARD_NODE_FLAGS === 'off' || runtime.env[REEXEC_MARK] !== undefined) return
  const missing = missingNodeFlags(runtime.execArgv, runtime.env.NODE_OPTIONS)
  if (missing.length === 0) return
  runtime.execve(runtime.execPath, [runtime.execPath, ...missing, ...runtime.execArgv, ...runtime.argv.slice(1)], { ...C_LIBRARY_ENV, ...runtime.env, [REEXEC_MARK]: '1' })
}

function currentProcess (): ReexecEnvironment {
  const execve = (process as { execve?: ReexecEnvironment['execve'] }).execve
  return { execArgv: process.execArgv, argv: process.argv, env: process.env, execPath: process.execPath, execve: execve?.bind(process) }
}
