// A page left open across an upgrade of the gateway reloads itself when, reconnected, it finds the gateway serving
// another script than the one it runs: what the live stream carries may have changed with it, and a page reading a
// stream of another version draws nothing, or the wrong thing. The script's ETag (a hash of the bundle) tells.
import { relative } from './api.ts'

export class PageVersion {
  /** The ETag of the script as the gateway served it when the page started. */
  readonly #loaded = servedScriptTag()

  /** Reloads the page when the gateway now serves another script (nothing when either tag cannot be read). */
  async reloadIfChanged (): Promise<void> {
    const [loaded, served] = await Promise.all([this.#loaded, servedScriptTag()])
    if (loaded !== undefined && served !== undefined && loaded !== served) location.reload()
  }
}

function servedScriptTag (): Promise<string | undefined> {
  return fetch(relative('/dashboard/app.js'), { method: 'HEAD', cache: 'no-store' })
    .then((res) => res.ok ? res.headers.get('etag') ?? undefined : undefined, () => undefined)
}
