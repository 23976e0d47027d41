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

/** Milliseconds since the epoch at sub-millisecond resolution: one clock that two processes can compare. */
export const epochNow = (): number => performance.timeOrigin + performance.now()
