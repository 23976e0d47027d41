// Runs the real CLI (`node src/main.ts --config FILE`) as a child process: waits for its listening line, reads
// the proxy and admin URLs from it, keeps every stdout JSON line, and kills it in teardown if it still runs.
import { spawn, type ChildProcess } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { GatewayConfig } from '../../src/config/schema.ts'
import type { LogRecord } from './gateway.ts'
import { TestUpstream } from './upstream.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')

export interface Exit { code: number | null; signal: NodeJS.Signals | null }

export interface CliProcess {
  readonly proc: ChildProcess
  /** The proxy listener and the admin listener, as the listening line gave them. */
  readonly url: string
  readonly adminUrl: string
  /** Every stdout line, parsed (the access log and the gateway's own records). */
  readonly records: LogRecord[]
  readonly exited: Promise<Exit>
  /** Wall-clock time (Date.now()) the listening line was read. */
  readonly listeningAt: number
  stderr (): string
  running (): boolean
  kill (signal: NodeJS.Signals): void
  /** Resolves with the first record (already seen or yet to come) that matches. */
  waitForRecord (match: (r: LogRecord) => boolean, timeoutMs?: number): Promise<LogRecord>
}

export interface CliOptions {
  /** Added to the (cleaned) environment. */
  env?: Record<string, string>
  /** How long to wait for the listening line (default 30 s: the machine is shared). */
  startTimeoutMs?: number
  /** Node's arguments before `--config FILE` (default ['src/main.ts']): flags, preloads, another entry. */
  nodeArgs?: string[]
  /** A command that execs node with its limits set, e.g. ['prlimit', '--nofile=128:128']. */
  wrapper?: string[]
}

/** Writes a config as JSON (the CLI loads .json files too, and a test can rewrite one in place). */
export function writeConfig (file: string, config: GatewayConfig): void {
  writeFileSync(file, JSON.stringify(config, null, 2))
}

/**
 * The environment a CLI process under test gets: this one's, without the test runner's loader hooks and without
 * the Switchyard settings a developer's shell may carry, plus `extra`.
 */
export function cliEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_OPTIONS
  if (extra.SWITCHYARD_CONFIG === undefined) delete env.SWITCHYARD_CONFIG
  if (extra.SWITCHYARD_ADMIN_TOKEN === undefined) delete env.SWITCHYARD_ADMIN_TOKEN
  return env
}

export async function startCli (t: { teardown (fn: () => unknown): void }, configFile: string, options: CliOptions = {}): Promise<CliProcess> {
  const env = cliEnv(options.env)
  const [command = NODE, ...prefix] = [...(options.wrapper ?? []), ...(options.wrapper === undefined ? [] : [NODE])]
  const proc = spawn(command, [...prefix, ...(options.nodeArgs ?? ['src/main.ts']), '--config', configFile], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<Exit>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })))
  let exitedYet = false
  void exited.then(() => { exitedYet = true })
  t.teardown(async () => {
    if (!exitedYet) proc.kill('SIGKILL')
    await exited
  })

  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const records: LogRecord[] = []
  const waiters = new Set<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>()
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    let record: LogRecord
    try {
      record = JSON.parse(line) as LogRecord
    } catch {
      record = { level: 0, msg: line } // not JSON: kept, so a test can show it
    }
    records.push(record)
    for (const w of waiters) {
      if (w.match(record)) {
        waiters.delete(w)
        w.resolve(record)
      }
    }
  })

  const waitForRecord = (match: (r: LogRecord) => boolean, timeoutMs = 5000): Promise<LogRecord> => {
    const seen = records.find(match)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no matching log record within ${timeoutMs}ms; stderr: ${stderr.slice(0, 500)}`))
      }, timeoutMs)
      const waiter = { match, resolve: (r: LogRecord) => { clearTimeout(timer); resolve(r) } }
      waiters.add(waiter)
      void exited.then(({ code, signal }) => {
        if (!waiters.has(waiter)) return
        waiters.delete(waiter)
        clearTimeout(timer)
        reject(new Error(`the CLI exited (${code ?? signal}) before the record came; stderr: ${stderr.slice(0, 500)}`))
      })
    })
  }

  const listening = await waitForRecord((r) => typeof r.msg === 'string' && r.msg.startsWith('switchyard listening on'), options.startTimeoutMs ?? 30_000)
  return {
    proc,
    url: listening.url as string,
    adminUrl: listening.admin as string,
    records,
    exited,
    listeningAt: Date.now(),
    stderr: () => stderr,
    running: () => !exitedYet,
    kill: (signal) => { proc.kill(signal) },
    waitForRecord,
  }
}

export interface CliRun { code: number | null; stdout: string; stderr: string }

/**
 * Runs the CLI once to its end (`check`, `--help`, a refused start): `node src/main.ts ...args` with the cleaned
 * environment plus `env`, its exit code and everything it wrote. Killed in teardown if it still runs.
 */
export async function runCliOnce (t: { teardown (fn: () => unknown): void }, args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const proc = spawn(NODE, ['src/main.ts', ...args], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const code = await new Promise<number | null>((resolve) => proc.once('close', (exit: number | null) => resolve(exit)))
  return { code, stdout, stderr }
}

/**
 * A config file for the CLI whose one route goes to an upstream answering after `delayMs` (no retry cuts it), with
 * no shutdown delay: a request can be held in flight while the test signals the process.
 */
export async function slowUpstreamConfig (t: { teardown (fn: () => unknown): void; testdir (): string }, delayMs: number): Promise<{ file: string; slow: TestUpstream }> {
  const slow = await TestUpstream.start({ name: 'slow' })
  slow.delayMs = delayMs
  t.teardown(() => slow.close())
  const file = join(t.testdir(), 'routes.config.json')
  writeConfig(file, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    shutdown: { delayMs: 0, timeoutMs: 10_000 },
    pools: { slow: { targets: [slow.url], retry: { perTryTimeoutMs: 10_000 } } },
    routes: [{ path: '/', pool: 'slow' }],
  })
  return { file, slow }
}
