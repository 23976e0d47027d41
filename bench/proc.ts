// What the kernel says a process has cost: CPU time from /proc/<pid>/stat, peak RSS from /proc/<pid>/status.
// Parsing is kept apart from reading so it can be tested on fixed text.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'

/**
 * utime and stime, in clock ticks, from the text of /proc/<pid>/stat (or /proc/<pid>/task/<tid>/stat). The command
 * name (field 2) is in parentheses and may itself hold spaces or ')', so fields are counted from the last ')'.
 */
export function parseStatTimes (stat: string): { user: number; system: number } {
  const close = stat.lastIndexOf(')')
  if (close < 0) throw new Error('not a /proc/<pid>/stat line')
  // after "pid (comm) " come state (field 3), ppid, … ; utime and stime are fields 14 and 15
  const fields = stat.slice(close + 2).trim().split(/\s+/)
  const user = Number(fields[14 - 3])
  const system = Number(fields[15 - 3])
  if (!Number.isInteger(user) || !Number.isInteger(system)) throw new Error('no utime/stime in /proc/<pid>/stat')
  return { user, system }
}

/** utime + stime, in clock ticks, from the text of /proc/<pid>/stat. */
export function parseStatCpuTicks (stat: string): number {
  const { user, system } = parseStatTimes(stat)
  return user + system
}

/** A "<Field>: <n> kB" value from the text of /proc/<pid>/status, in KiB. */
export function parseStatusKiB (status: string, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status)
  if (!m) throw new Error(`no ${field} in /proc/<pid>/status`)
  return Number(m[1])
}

export function cpuTicks (pid: number): number {
  return parseStatCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'))
}

export function peakRssKiB (pid: number): number {
  return parseStatusKiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM')
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0, own processes or root), so a peak is per run. */
export function resetPeakRss (pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/** Clock ticks per second, as `getconf CLK_TCK` says (utime and stime are counted in these). */
export function clockTicksPerSecond (): number {
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  if (!Number.isInteger(ticks) || ticks <= 0) throw new Error('getconf CLK_TCK gave no tick rate')
  return ticks
}

export function cpuModel (): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m) return m[1]!.trim()
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? 'unknown CPU'
}

export function loadAverage (): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  } catch {
    return 'unknown'
  }
}
