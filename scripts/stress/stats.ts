// Small helpers shared by the stress scripts: percentiles and markdown table rows.
import { readFileSync } from 'node:fs'

/** The p-th percentile (0–100) of the values, nearest rank; 0 for none. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

export function table (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n'
}

export const ms = (n: number): string => n.toFixed(1)

export const sleep = (delayMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, delayMs))

/**
 * The machine's TCP listen-queue overflows and drops so far (TcpExt ListenOverflows + ListenDrops in
 * /proc/net/netstat; 0 where it cannot be read). A connection whose final ACK was dropped on a full accept queue
 * waits for the SYN-ACK to be retransmitted (1 s, then 2 s), so its request arrives that much later.
 */
export function listenDrops (): number {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'))
    const names = lines[0]!.split(/\s+/)
    const values = lines[1]!.split(/\s+/)
    return ['ListenOverflows', 'ListenDrops'].reduce((n, name) => n + Number(values[names.indexOf(name)] ?? 0), 0)
  } catch {
    return 0
  }
}

/**
 * The machine's monotonic clock in ms (CLOCK_MONOTONIC, which every process reads alike): what two processes'
 * timestamps are compared on. Not the wall clock: a process's performance.timeOrigin is the wall clock at its
 * start, so two processes started apart disagree by however much the wall clock was adjusted in between.
 */
export const machineNow = (): number => Number(process.hrtime.bigint()) / 1e6

/** One CPU's busy and total jiffies so far (/proc/stat), for its busy share over a run; undefined where unreadable. */
export function cpuJiffies (cpu: number): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `))
    if (line === undefined) return undefined
    // user nice system idle iowait irq softirq steal …
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
    return { busy: total - v[3]! - v[4]!, total }
  } catch {
    return undefined
  }
}

/** Busy share (0–100) of a CPU between two cpuJiffies() readings; NaN when either is missing. */
export function busyPercent (before: ReturnType<typeof cpuJiffies>, after: ReturnType<typeof cpuJiffies>): number {
  if (before === undefined || after === undefined || after.total === before.total) return NaN
  return (100 * (after.busy - before.busy)) / (after.total - before.total)
}
