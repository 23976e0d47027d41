// Which views are on the screen or near it, and how wide they are: one IntersectionObserver and one ResizeObserver
// for the whole page. At fleet scale (200 pool cards, each with a chart and its tiles) a card far off screen skips
// its updates until it comes near, and a chart is only made once it does. Both observers report what the frame's
// own layout computed: reading clientWidth as each of 200 charts was made forced a layout per chart (a 3.5 s task).

export interface OnScreenWatch {
  /** Whether the element is now within a screen's height of the viewport. Called once soon after watch(). */
  near? (near: boolean): void
  /** The element's content width in CSS px, whenever it changes. */
  width? (px: number): void
}

/** How far beyond the viewport counts as near: a screen's height above and below, so a scroll finds cards drawn. */
const NEAR_MARGIN = '100% 0px'

export class OnScreen {
  readonly #watches = new Map<Element, OnScreenWatch>()
  readonly #intersection: IntersectionObserver
  readonly #resize: ResizeObserver

  constructor () {
    this.#intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) this.#watches.get(entry.target)?.near?.(entry.isIntersecting)
    }, { rootMargin: NEAR_MARGIN })
    this.#resize = new ResizeObserver((entries) => {
      for (const entry of entries) this.#watches.get(entry.target)?.width?.(Math.floor(entry.contentRect.width))
    })
  }

  watch (element: Element, watch: OnScreenWatch): void {
    this.#watches.set(element, watch)
    if (watch.near !== undefined) this.#intersection.observe(element)
    if (watch.width !== undefined) this.#resize.observe(element)
  }

  unwatch (element: Element): void {
    if (!this.#watches.delete(element)) return
    this.#intersection.unobserve(element)
    this.#resize.unobserve(element)
  }
}
