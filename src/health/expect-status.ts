// Which probe answers count as healthy.

/** [low, high] in ascending order is a range; anything else is a list of accepted statuses. */
export function statusMatcher (expect: readonly number[]): (status: number) => boolean {
  if (expect.length === 2 && expect[0]! < expect[1]!) {
    const [low, high] = expect as [number, number]
    return (s) => s >= low && s <= high
  }
  const set = new Set(expect)
  return (s) => set.has(s)
}
