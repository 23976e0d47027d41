// Small helpers shared by the stress scripts: percentiles and markdown table rows.
import { readdirSync, readFileSync } from 'node:fs'

/** The p-th percentile (0–100) of the values, nearest rank; 0 for none. */
export function percentile (values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

/**
 * How long each connection waited to be accepted, ms: from when its client saw it established (queued in the
 * kernel) to the first accept on its port from a second before that on. A port is used again by later connections,
 * another process's too; and a busy client can see its connection after the server accepted it (a wait just
 * below 0). A connection with no such accept is left out.
 */
export function acceptWaits (established: readonly (readonly [port: number, at: number])[], acceptedByPort: ReadonlyMap<number, readonly number[]>): number[] {
  const waits: number[] = []
  for (const [port, at] of established) {
    const acceptedAt = acceptedByPort.get(port)?.find((t) => t >= at - 1000)
    if (acceptedAt !== undefined) waits.push(acceptedAt - at)
  }
  return waits
}

export function table (header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n'
}

export const ms = (n: number): string => n.toFixed(1)

export const sleep = (delayMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, delayMs))

/** Counters of the machine's TCP stack so far, by name (TcpExt and Tcp lines of /proc/net/netstat and snmp); 0 where unread. */
export function tcpCounters (names: readonly string[]): Record<string, number> {
  const found: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    let text: string
    try { text = readFileSync(file, 'utf8') } catch { continue }
    const lines = text.split('\n')
    // each section is a line of names then a line of values, both starting with the section's prefix
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const [prefix, ...keys] = lines[i]!.split(/\s+/)
      const values = lines[i + 1]!.split(/\s+/).slice(1)
      if (prefix !== 'TcpExt:' && prefix !== 'Tcp:') continue
      keys.forEach((key, k) => { if (Object.hasOwn(found, key)) found[key] = Number(values[k] ?? 0) })
    }
  }
  return found
}

/**
 * The machine's TCP listen-queue overflows and drops so far (TcpExt ListenOverflows + ListenDrops). A connection
 * whose final ACK was dropped on a full accept queue waits for the SYN-ACK to be retransmitted (1 s, then 2 s), so
 * its request arrives that much later.
 */
export function listenDrops (): number {
  const c = tcpCounters(['ListenOverflows', 'ListenDrops'])
  return c.ListenOverflows! + c.ListenDrops!
}

const PAGE_BYTES = 4096

/**
 * Memory all TCP sockets of the machine hold in their kernel buffers now, and net.ipv4.tcp_mem's pressure
 * threshold, in bytes (0 where unread). The count is the kernel's, for every process at once: past the threshold
 * Linux shrinks buffers and drops arriving segments on every connection, which then wait for a retransmission
 * (≥ 200 ms on loopback).
 */
export function tcpMemory (): { bytes: number; pressureBytes: number } {
  const read = (file: string): string => { try { return readFileSync(file, 'utf8') } catch { return '' } }
  const mem = /^TCP:.*\bmem (\d+)/m.exec(read('/proc/net/sockstat'))
  // the limits are the machine's: a network namespace of its own has no tcp_mem file (then 0)
  const [, pressure] = read('/proc/sys/net/ipv4/tcp_mem').trim().split(/\s+/).map(Number)
  return { bytes: Number(mem?.[1] ?? 0) * PAGE_BYTES, pressureBytes: (pressure ?? 0) * PAGE_BYTES }
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

/** Open file descriptors of a process, from /proc/<pid>/fd. */
export const processFds = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length

/** Resident set size of a process in MiB, from /proc/<pid>/status. */
export const processRssMiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
