// bench/RESULTS.md keeps every run, oldest first, above the history of the old (autocannon) harness.

/** The heading above which new runs go; what follows it was measured by another harness. */
export const HISTORY_HEADING = '## History: the autocannon harness (not comparable)'

/** The file with `run` added after the last run, above the history; at the end when there is no history. */
export function appendRun (file: string, run: string): string {
  const section = `${run.trim()}\n`
  const at = file.indexOf(`\n${HISTORY_HEADING}`)
  if (at < 0) return `${file.trimEnd()}\n\n${section}`
  return `${file.slice(0, at).trimEnd()}\n\n${section}\n${file.slice(at + 1)}`
}
