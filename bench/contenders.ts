// The proxies under benchmark, each a separate Node process pinned to the proxy's CPU.
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import type { ChildProcess } from 'node:child_process'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { C_LIBRARY_ENV, NODE_FLAGS } from '../src/lifecycle/node-flags.ts'
import { startProcess, stopProcess, waitForReady } from './children.ts'
import type { Origin } from './origin-answer.ts'
import { SCALE_ROUTE_PATH } from './switchyard-config.ts'

const here = dirname(fileURLToPath(import.meta.url))

export interface ContenderSpec {
  name: string
  description: string
  script: string
  args: (origin: Origin) => string[]
  /** Switchyard runs as it ships (its V8 flags); the others with Node's defaults. */
  nodeFlags: readonly string[]
  /** Added to the environment: Switchyard's shipped C library settings (C_LIBRARY_ENV); none for the others. */
  env?: Readonly<Record<string, string>>
  /** stdout is the access log, sent to a file. */
  logsToStdout: boolean
  /** Where the load goes on this contender (a route's prefix); '' for the root. */
  pathPrefix?: string
  /** Run only when named: the scale variants (npm run bench:scale) and the floor with Switchyard's runtime settings. */
  onlyWhenNamed?: true
}

export const CONTENDERS: readonly ContenderSpec[] = [
  {
    name: 'floor',
    description: 'bench/floor.ts: node:http + undici Pool.dispatch, raw headers, no features',
    script: 'floor.ts',
    args: (o) => [o.urls[0]],
    nodeFlags: [],
    logsToStdout: false,
  },
  {
    // The floor's CPU moves with the heap settings too: Switchyard's smaller young generation (bar 3's memory)
    // means more scavenges for the same garbage. This is the floor under the same settings, so the two can be told
    // apart: what the settings cost and what Switchyard's code costs.
    name: 'floor-shipped',
    description: 'bench/floor.ts with the V8 flags and C library settings Switchyard ships (src/lifecycle/node-flags.ts)',
    script: 'floor.ts',
    args: (o) => [o.urls[0]],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: false,
    onlyWhenNamed: true,
  },
  {
    name: 'raw',
    description: '@fastify/http-proxy, logger off',
    script: 'raw-proxy.ts',
    args: (o) => [o.urls[0]],
    nodeFlags: [],
    logsToStdout: false,
  },
  {
    name: 'switchyard-min',
    description: 'Switchyard, 1 target, breaker, outlier detection and retries off, logging off',
    script: 'gateway-server.ts',
    args: (o) => ['min', o.urls[0]],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: false,
  },
  {
    name: 'switchyard-full',
    description: 'Switchyard, 2 targets (two origin ports), active health checks every 1 s, breaker, 3 attempts within a 20% retry budget, outlier detection, access log at info to stdout redirected to a file (in RAM, on /dev/shm, where there is one), Prometheus metrics',
    script: 'gateway-server.ts',
    args: (o) => ['full', ...o.urls],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: true,
  },
  {
    name: 'switchyard-nometrics',
    description: 'switchyard-full with metrics off (the pair measures what metrics cost)',
    script: 'gateway-server.ts',
    args: (o) => ['full-nometrics', ...o.urls],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: true,
  },
  {
    name: 'switchyard-nolog',
    description: 'switchyard-full with the access log off (log level warn; the pair measures what access logging costs)',
    script: 'gateway-server.ts',
    args: (o) => ['full-nolog', ...o.urls],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: true,
  },
  {
    name: 'switchyard-10k-routes',
    description: `switchyard-full with 10,000 routes (each strips its prefix); the load goes through ${SCALE_ROUTE_PATH} (bar: at most 5% more CPU per request than switchyard-full)`,
    script: 'gateway-server.ts',
    args: (o) => ['full-10k-routes', ...o.urls],
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: true,
    pathPrefix: SCALE_ROUTE_PATH,
    onlyWhenNamed: true,
  },
  {
    name: 'switchyard-1k-targets',
    description: 'switchyard-full with its pool over 1,000 target addresses (nginx listening on 127.1.x.y), round robin, probed 2 times a second in all as full is (bar: at most 5% more CPU per request than switchyard-full)',
    script: 'gateway-server.ts',
    args: (o) => {
      if (o.scaleUrls === undefined) throw new Error('switchyard-1k-targets needs the nginx origin (its 1,000 scale addresses)')
      return ['full-1k-targets', ...o.scaleUrls]
    },
    nodeFlags: NODE_FLAGS,
    env: C_LIBRARY_ENV,
    logsToStdout: true,
    onlyWhenNamed: true,
  },
  {
    // switchyard-full spreads its load over two targets (two origin ports), each with its own connections: at c=256
    // ~256 upstream connections, where the floor's one pool of 128 queues half its requests. This is the floor
    // spread the same way, so what two targets cost Node and undici can be told apart from what the gateway costs.
    name: 'floor-2-targets',
    description: 'bench/floor.ts over the same two origin ports as switchyard-full, round robin, a pool of 128 connections each',
    script: 'floor.ts',
    args: (o) => [...o.urls],
    nodeFlags: [],
    logsToStdout: false,
    onlyWhenNamed: true,
  },
  {
    name: 'floor-1k-targets',
    description: 'bench/floor.ts over the same 1,000 target addresses as switchyard-1k-targets, round robin: what spreading requests over 1,000 upstream connections costs a bare node:http + undici proxy',
    script: 'floor.ts',
    args: (o) => {
      if (o.scaleUrls === undefined) throw new Error('floor-1k-targets needs the nginx origin (its 1,000 scale addresses)')
      return [...o.scaleUrls]
    },
    nodeFlags: [],
    logsToStdout: false,
    onlyWhenNamed: true,
  },
  // BENCH_BASELINE=<another checkout of this repository, e.g. a git worktree of main>: its switchyard-full, to
  // measure a change against the tree before it in one interleaved run. BENCH_BASELINE_FLAGS adds V8 flags to it
  // alone (BENCH_BASELINE=. measures a flag against the same tree); BENCH_BASELINE_ENV='NAME=value ...' sets its
  // environment in place of the shipped settings ('NAME=' leaves NAME unset).
  ...(process.env.BENCH_BASELINE === undefined ? [] : [{
    name: 'baseline-full',
    description: `switchyard-full from ${process.env.BENCH_BASELINE}${process.env.BENCH_BASELINE_FLAGS ? ` with ${process.env.BENCH_BASELINE_FLAGS}` : ''}`,
    script: relative(here, join(process.env.BENCH_BASELINE, 'bench', 'gateway-server.ts')),
    args: (o: Origin) => ['full', ...o.urls],
    nodeFlags: [...NODE_FLAGS, ...(process.env.BENCH_BASELINE_FLAGS?.split(' ').filter(Boolean) ?? [])],
    env: process.env.BENCH_BASELINE_ENV === undefined ? C_LIBRARY_ENV : baselineEnv(process.env.BENCH_BASELINE_ENV),
    logsToStdout: true,
  }]),
]

function baselineEnv (pairs: string): Record<string, string> {
  return Object.fromEntries(pairs.split(' ').filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]))
}

/** The contender's environment: the harness's, its own settings on top; an empty value unsets a name. */
function contenderEnv (spec: ContenderSpec): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: COMPILE_CACHE }
  for (const [name, value] of Object.entries(spec.env ?? {})) {
    if (value === '') delete env[name]
    else env[name] = value
  }
  return env
}

export interface Contender {
  spec: ContenderSpec
  child: ChildProcess
  pid: number
  url: string
  /** The access-log file, for contenders that log. */
  logFile: string | undefined
}

/**
 * Every contender runs with Node's compile cache named in NODE_COMPILE_CACHE, warmed by one start of its own
 * first, as a production start runs (src/main.ts keeps the cache; the image's entry point finds it warm): Node
 * then reads the type-stripped sources from the cache and never loads its TypeScript stripper, a wasm module
 * that would hold ~18 MiB of every contender's resident memory.
 */
const COMPILE_CACHE = join(tmpdir(), 'switchyard-bench-compile-cache')
const warmed = new Set<string>()

/** How the measured process is started when not by Node directly: under a tool (bench/instructions.ts: valgrind). */
export interface Launcher {
  /** The tool and its arguments; Node's path and the contender's arguments follow. */
  prefix: readonly string[]
  /** How long the contender may take to say READY (a tool may slow its start-up many times over). */
  readyTimeoutMs: number
  /** Added to the contender's environment (BENCH_TREE, which names the sources, also to the compile cache's warm-up start). */
  env?: NodeJS.ProcessEnv
}

// The access logs are files in RAM (tmpfs) where the machine has /dev/shm. On this project's machines (VMs), a
// proxy logging to a growing file on the virtual disk had spells of +30-60 µs per request, user and system time
// alike, for 10-40 s at a time; to /dev/null or to tmpfs it had none (bench/RESULTS.md, round 16). That measures
// the machine's disk and memory, not the proxy; a gateway in a pod writes its stdout to a pipe the container
// runtime drains.
let accessLogDir: string | null | undefined

function accessLogFile (name: string, fallbackDir: string): string {
  if (accessLogDir === undefined) {
    try {
      const made = mkdtempSync('/dev/shm/switchyard-bench-')
      accessLogDir = made
      process.once('exit', () => rmSync(made, { recursive: true, force: true }))
    } catch {
      accessLogDir = null
    }
  }
  return join(accessLogDir ?? fallbackDir, `${name}-access.log`)
}

export async function startContender (spec: ContenderSpec, origin: Origin, dir: string, cpu: number, extraNodeFlags: readonly string[] = [], launcher?: Launcher): Promise<Contender> {
  const env = contenderEnv(spec)
  const tree = launcher?.env?.BENCH_TREE
  const sources = `${spec.script}\0${tree ?? ''}`
  if (!warmed.has(sources)) {
    const warm = startProcess(process.execPath, [...spec.nodeFlags, join(here, spec.script), ...spec.args(origin)], { cpu, env: tree === undefined ? env : { ...env, BENCH_TREE: tree } })
    await waitForReady(warm, `${spec.name} (compile cache warm-up)`)
    await stopProcess(warm)
    warmed.add(sources)
  }
  const logFile = spec.logsToStdout ? accessLogFile(spec.name, dir) : undefined
  const stdout = logFile === undefined ? 'ignore' : openSync(logFile, 'a')
  try {
    const nodeArgs = [...spec.nodeFlags, ...extraNodeFlags, join(here, spec.script), ...spec.args(origin)]
    const child = launcher === undefined
      ? startProcess(process.execPath, nodeArgs, { cpu, stdout, env })
      : startProcess(launcher.prefix[0]!, [...launcher.prefix.slice(1), process.execPath, ...nodeArgs], { cpu, stdout, env: { ...env, ...launcher.env } })
    const url = await waitForReady(child, spec.name, launcher?.readyTimeoutMs) + (spec.pathPrefix ?? '')
    return { spec, child, pid: child.pid!, url, logFile }
  } finally {
    if (typeof stdout === 'number') closeSync(stdout) // the child holds its own copy
  }
}
