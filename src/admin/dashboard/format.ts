// Numbers and times as operators read them: short, fixed precision, units always shown.

export function formatRate (perSecond: number): string {
  if (perSecond === 0) return '0/s'
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`
  if (perSecond < 10_000) return `${Math.round(perSecond)}/s`
  return `${(perSecond / 1000).toFixed(1)}k/s`
}

export function formatPercent (ratio: number): string {
  if (ratio === 0) return '0%'
  const percent = ratio * 100
  if (percent < 0.1) return '<0.1%'
  return `${percent < 10 ? percent.toFixed(1) : Math.round(percent)}%`
}

export function formatMs (ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–'
  if (ms === 0) return '0 ms'
  if (ms < 1) return `${ms.toFixed(2)} ms`
  if (ms < 100) return `${ms.toFixed(1)} ms`
  if (ms < 10_000) return `${Math.round(ms)} ms`
  return `${(ms / 1000).toFixed(1)} s`
}

/** "12 s", "4 min", "2 h": how long ago or how long until. */
export function formatSpan (ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 90) return `${s} s`
  const min = Math.round(s / 60)
  if (min < 90) return `${min} min`
  return `${Math.round(min / 60)} h`
}

// Made once: toLocaleTimeString builds a formatter per call, and the charts' axes call this for every label of 200
// charts every second (40% of the page's script at 5,000 routes)
let hourMinute: Intl.DateTimeFormat | undefined
let clock: Intl.DateTimeFormat | undefined

/** Local wall-clock time, hh:mm (chart axes). */
export function formatHourMinute (epochMs: number): string {
  hourMinute ??= new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', hour12: false })
  return hourMinute.format(epochMs)
}

/** Local wall-clock time, hh:mm:ss. */
export function formatClock (iso: string | number): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return '?'
  clock ??= new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
  return clock.format(date)
}
