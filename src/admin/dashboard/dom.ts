// A few DOM helpers: build elements, change text only when it differs (so nothing flickers or loses focus),
// and keep a keyed list of views in step with data.

type Child = Node | string | null | undefined | false

export interface Props {
  class?: string
  text?: string
  [attribute: string]: string | undefined
}

export function el<K extends keyof HTMLElementTagNameMap> (tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined) continue
    if (name === 'class') node.className = value
    else if (name === 'text') node.textContent = value
    else node.setAttribute(name, value)
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
}

export function setText (node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text
}

export function setAttr (node: Element, name: string, value: string | undefined): void {
  if (value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name)
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value)
  }
}

export function setHidden (node: HTMLElement, hidden: boolean): void {
  if (node.hidden !== hidden) node.hidden = hidden
}

/**
 * 'held': off while an action is in flight, but still focusable (aria-disabled): a control disabled while it has
 * focus drops it to <body>, and a keyboard user loses their place. 'off': does not apply (disabled). A held control's
 * handler must ignore it (the page refuses a second action anyway).
 */
export type Usable = 'on' | 'held' | 'off'

export function setUsable (control: HTMLButtonElement | HTMLInputElement, usable: Usable): void {
  if (control.disabled !== (usable === 'off')) control.disabled = usable === 'off'
  setAttr(control, 'aria-disabled', usable === 'held' ? 'true' : undefined)
}

export function isHeld (control: Element): boolean {
  return control.getAttribute('aria-disabled') === 'true'
}

/** Whether a control that had focus has lost it, or is about to (disabled or hidden): the caller moves focus on. */
export function lostFocus (control: HTMLElement): boolean {
  // checked as well as activeElement: the browser may move focus off a disabled control only at its next frame
  return document.activeElement !== control || control.matches(':disabled') || control.closest('[hidden]') !== null
}

/** A view of one item of a keyed list. */
export interface View<T> {
  readonly root: HTMLElement
  update (item: T): void
  destroy? (): void
}

/** Creates, updates, removes and orders the views of `items` inside `container`, matched by key. */
export function syncList<T, V extends View<T>> (
  container: HTMLElement, views: Map<string, V>, items: readonly T[], key: (item: T) => string, create: (item: T) => V,
): void {
  const seen = new Set<string>()
  let previous: Element | null = null
  for (const item of items) {
    const k = key(item)
    seen.add(k)
    let view = views.get(k)
    if (view === undefined) {
      view = create(item)
      views.set(k, view)
    }
    view.update(item)
    const expected: Element | null = previous === null ? container.firstElementChild : previous.nextElementSibling
    if (expected !== view.root) {
      if (previous === null) container.prepend(view.root)
      else previous.after(view.root)
    }
    previous = view.root
  }
  for (const [k, view] of views) {
    if (seen.has(k)) continue
    view.destroy?.()
    view.root.remove()
    views.delete(k)
  }
}
