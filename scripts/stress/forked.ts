// A stress script's child process with an IPC channel: forked, waited for until its first message, asked one
// question at a time, and stopped by closing the channel (killed if it does not exit within 5 s, or when the
// driver exits).
import { fork, type ChildProcess, type ForkOptions } from 'node:child_process'

const children = new Set<ChildProcess>()
process.once('exit', () => { for (const c of children) c.kill('SIGKILL') })

export interface Forked<Ready> {
  readonly pid: number
  /** The child's first message. */
  readonly ready: Ready
  /** Sends { type } and resolves with the child's next message. */
  ask<T> (type: string): Promise<T>
  stop (): Promise<void>
}

export async function forkChild<Ready> (module: URL, args: string[], options: Pick<ForkOptions, 'execArgv' | 'env'> = {}): Promise<Forked<Ready>> {
  const child = fork(module, args, { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  children.add(child)
  child.once('exit', () => children.delete(child))
  const name = module.pathname.slice(module.pathname.lastIndexOf('/') + 1)
  const ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready after 15 s`)), 15_000)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited (${code}) before it was ready`)) })
    child.once('message', (m: Ready) => { clearTimeout(timer); resolve(m) })
  })
  return {
    pid: child.pid!,
    ready,
    ask: <T>(type: string) => new Promise<T>((resolve) => {
      child.once('message', (m: T) => resolve(m))
      child.send({ type })
    }),
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.disconnect()
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
