// Every process the benchmark starts goes through here, so all of them are ended on success, on error and on
// Ctrl-C. Pinning uses `taskset -c N`, which execs the command: the child's pid is the measured process itself.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process'
import { connect } from 'node:net'
import { cpus } from 'node:os'

const running = new Set<ChildProcess>()

export const canPin = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0

export interface StartOptions {
  /** CPU to pin to (ignored where taskset or a second CPU is missing). */
  cpu?: number
  /** Where the child's stdout goes: 'ignore', 'pipe', or a file descriptor. */
  stdout?: 'ignore' | 'pipe' | number
  env?: NodeJS.ProcessEnv
}

export function startProcess (cmd: string, args: readonly string[], options: StartOptions = {}): ChildProcess {
  const [file, argv] = options.cpu !== undefined && canPin ? ['taskset', ['-c', String(options.cpu), cmd, ...args]] : [cmd, [...args]]
  // stdin is a pipe the child may watch: it closes when this process dies, however it dies
  const stdio: StdioOptions = ['pipe', options.stdout ?? 'ignore', 'pipe']
  const child = spawn(file, argv, { stdio, env: options.env ?? process.env })
  running.add(child)
  child.once('exit', () => running.delete(child))
  // a child that failed to spawn is reported by whoever waits on it; never an unhandled 'error' event
  child.on('error', () => running.delete(child))
  return child
}

/**
 * Resolves with the URL from the child's `READY <url>` line on stderr; its other stderr lines are passed on,
 * prefixed with its name. Rejects if it exits or stays silent for `timeoutMs`.
 */
export function waitForReady (child: ChildProcess, name: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let ready = false
    const timer = setTimeout(() => reject(new Error(`${name}: not ready after ${timeoutMs} ms`)), timeoutMs)
    child.stderr!.on('data', (d: Buffer) => {
      buffered += d.toString()
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        const m = ready ? null : /^READY (\S+)/.exec(line)
        if (m) {
          ready = true
          clearTimeout(timer)
          resolve(m[1]!)
        } else if (line.trim() !== '') process.stderr.write(`[${name}] ${line}\n`)
      }
    })
    child.once('error', (err) => { clearTimeout(timer); reject(err) })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (!ready) reject(new Error(`${name} exited (${signal ?? code}) before it was ready`))
    })
  })
}

/** Resolves once something accepts connections on 127.0.0.1:port (a child that says nothing when ready: nginx, HAProxy); rejects if the child exits or 5 s pass. */
export async function waitForListening (port: number, child: ChildProcess, name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`)
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${name} did not listen on ${port}`)
}

/**
 * Resolves with the exit code once the child has exited and its output is fully read ('close'), or with
 * `undefined` after `timeoutMs` (it is then killed).
 */
export function waitForExit (child: ChildProcess, timeoutMs: number): Promise<number | null | undefined> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      resolve(undefined)
    }, timeoutMs)
    child.once('close', (code) => { clearTimeout(timer); resolve(code) })
  })
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopProcess (child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  child.kill('SIGTERM')
  await waitForExit(child, graceMs)
}

export async function stopAll (): Promise<void> {
  await Promise.all([...running].map((c) => stopProcess(c)))
}

/**
 * Ctrl-C, SIGTERM and SIGHUP end every child before this process exits; so does any exit at all (synchronously,
 * with SIGKILL, for the paths where there is no time to wait).
 */
export function endChildrenOnExit (): void {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return
    stopping = true
    process.stderr.write(`\n${signal}: stopping every process the benchmark started\n`)
    void stopAll().finally(() => process.exit(130))
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal)
  process.on('exit', () => {
    for (const c of running) c.kill('SIGKILL')
  })
}
