// Which probe answers count as healthy: statuses and 'low-high' ranges, as configured.

export function statusMatcher (expect: readonly (number | string)[]): (status: number) => boolean {
  const ranges = expect.map((item) => {
    const [low, high = low] = String(item).split('-').map(Number)
    return [low!, high!] as const
  })
  return (s) => ranges.some(([low, high]) => s >= low && s <= high)
}
