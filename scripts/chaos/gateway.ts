// The real CLI (`node src/main.ts --config FILE`) in a process of its own, on a JSON config file that a step
// rewrites (write to a temporary file, then rename, so the gateway's file watcher never reads half a file) and
// reloads through the admin API. Its JSON log lines are kept for the checks.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { GatewayConfig } from '../../src/config/schema.ts'
import { freePort } from './http.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface LogLine { level: number; msg?: string; at: number; [field: string]: unknown }

export interface StatusTarget { id: string; url: string; backup: boolean; weight: number; state: string; inFlight: number; tunnels?: number }
export interface StatusRoute {
  id: string
  name?: string
  path: string
  pool: string
  canary?: { pool: string; weight: number; weightSource: string }
  reads?: { pool: string }
  mirror?: { pool: string; inFlight: number }
}
export interface Status {
  tunnels?: number
  pools: Record<string, { circuit: string; targets: StatusTarget[] }>
  routes: StatusRoute[]
}

/** Every gateway started and not yet stopped, so a failure or Ctrl-C stops them too. */
export const running = new Set<Gateway>()

export class Gateway {
  readonly port: number
  readonly adminPort: number
  readonly base: string
  readonly admin: string
  readonly logs: LogLine[] = []
  readonly #child: ChildProcess
  readonly #dir: string
  readonly #file: string
  readonly #exited: Promise<void>

  private constructor (port: number, adminPort: number, dir: string, child: ChildProcess) {
    this.port = port
    this.adminPort = adminPort
    this.base = `http://127.0.0.1:${port}`
    this.admin = `http://127.0.0.1:${adminPort}`
    this.#dir = dir
    this.#file = join(dir, 'routes.config.json')
    this.#child = child
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()))
  }

  static async start (config: (port: number, adminPort: number) => GatewayConfig, now: () => number): Promise<Gateway> {
    const port = await freePort()
    const adminPort = await freePort()
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-'))
    const file = join(dir, 'routes.config.json')
    writeFileSync(file, JSON.stringify(config(port, adminPort), null, 2))
    // the run's own environment must not change the gateway's token, secret or config
    const env = { ...process.env }
    for (const name of ['NODE_OPTIONS', 'SWITCHYARD_ADMIN_TOKEN', 'SWITCHYARD_CONFIG', 'SWITCHYARD_SECRET']) delete env[name]
    const child = spawn(join(ROOT, 'node_modules/.bin/node'), ['src/main.ts', '--config', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const gateway = new Gateway(port, adminPort, dir, child)
    running.add(gateway)
    let stderr = ''
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the gateway did not start within 30 s: ${stderr}`)), 30_000)
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the gateway exited (${code}) at start: ${stderr}`)) })
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let rec: LogLine
        try { rec = { ...JSON.parse(line) as LogLine, at: now() } } catch { rec = { level: 60, msg: 'non-JSON: ' + line, at: now() } }
        gateway.logs.push(rec)
        if (rec.msg?.startsWith('switchyard listening') === true) { clearTimeout(timer); resolve() }
      })
    })
    try {
      await listening
    } catch (err) {
      await gateway.stop()
      throw err
    }
    return gateway
  }

  get pid (): number { return this.#child.pid! }

  /** Writes the config and asks for a reload: the answer's status and body. */
  async reload (config: GatewayConfig): Promise<{ status: number; body: { result?: string; changes?: unknown; problems?: unknown } }> {
    writeFileSync(this.#file + '.tmp', JSON.stringify(config, null, 2))
    renameSync(this.#file + '.tmp', this.#file)
    const res = await fetch(this.admin + '/reload', { method: 'POST' })
    return { status: res.status, body: await res.json() as { result?: string } }
  }

  async adminPost (path: string, body?: unknown): Promise<number> {
    const res = await fetch(this.admin + path, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) })
    await res.arrayBuffer()
    return res.status
  }

  async status (): Promise<Status> { return await (await fetch(this.admin + '/status')).json() as Status }
  async metrics (): Promise<string> { return (await fetch(this.admin + '/metrics')).text() }

  fds (): number {
    try { return readdirSync(`/proc/${this.pid}/fd`).length } catch { return -1 }
  }

  /** SIGTERM (its shutdown delay is 0 in these configs), SIGKILL if it has not exited within 10 s. */
  async stop (): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM')
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000)
      await this.#exited
      clearTimeout(timer)
    }
    running.delete(this)
    rmSync(this.#dir, { recursive: true, force: true })
  }

  /** For process exit: no waiting. */
  killNow (): void {
    this.#child.kill('SIGKILL')
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
