// The admin API as the page uses it: every call carries the bearer token when the operator gave one, and a
// failure comes back as data ({ status, error, message, problems }) for the page to show, never as a throw.

export type TargetAction = 'drain' | 'enable' | 'disable'

export type ApiResult<T> =
  | { ok: true; value: T }
  | { ok: false; status: number; error: string; message: string; problems?: string[] }

const TOKEN_KEY = 'switchyard.adminToken'

export class AdminApi {
  #token: string | undefined
  /** Called on every 401, after the rejected token has been forgotten. */
  onUnauthorized: () => void = () => {}

  constructor () {
    this.#token = readToken()
  }

  get token (): string | undefined { return this.#token }

  /** Kept for this tab only (sessionStorage), never in the URL. */
  setToken (token: string | undefined): void {
    this.#token = token === undefined || token.trim() === '' ? undefined : token.trim()
    try {
      if (this.#token === undefined) sessionStorage.removeItem(TOKEN_KEY)
      else sessionStorage.setItem(TOKEN_KEY, this.#token)
    } catch { /* storage disabled: the token lives until the tab reloads */ }
  }

  headers (extra: Record<string, string> = {}): Record<string, string> {
    return this.#token === undefined ? extra : { ...extra, authorization: `Bearer ${this.#token}` }
  }

  get<T> (path: string): Promise<ApiResult<T>> {
    return this.#call<T>('GET', path)
  }

  targetAction (pool: string, target: string, action: TargetAction): Promise<ApiResult<unknown>> {
    return this.#call('POST', `/pools/${encodeURIComponent(pool)}/targets/${encodeURIComponent(target)}/${action}`)
  }

  switchover (pool: string, to: 'primary' | 'backup'): Promise<ApiResult<unknown>> {
    return this.#call('POST', `/pools/${encodeURIComponent(pool)}/switchover`, { to })
  }

  setCanaryWeight (route: string, weight: number): Promise<ApiResult<unknown>> {
    return this.#call('POST', `/routes/${encodeURIComponent(route)}/canary`, { weight })
  }

  reload (): Promise<ApiResult<unknown>> {
    return this.#call('POST', '/reload')
  }

  async #call<T> (method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    let res: Response
    try {
      res = await fetch(relative(path), {
        method,
        cache: 'no-store',
        headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? undefined : JSON.stringify(body),
      })
    } catch {
      return { ok: false, status: 0, error: 'unreachable', message: 'the admin listener did not answer' }
    }
    const parsed: unknown = await res.json().catch(() => undefined)
    if (res.ok) return { ok: true, value: parsed as T }
    if (res.status === 401) {
      this.setToken(undefined)
      this.onUnauthorized()
    }
    const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { error?: unknown; message?: unknown; problems?: unknown }
    const failure: ApiResult<T> = {
      ok: false,
      status: res.status,
      error: typeof fields.error === 'string' ? fields.error : `http_${res.status}`,
      message: typeof fields.message === 'string' ? fields.message : `${method} ${path} answered ${res.status}`,
    }
    if (Array.isArray(fields.problems)) failure.problems = fields.problems.map(String)
    return failure
  }
}

/** Paths resolve against the page, so the dashboard also works behind a proxy that adds a prefix. */
export function relative (path: string): string {
  return path.replace(/^\//, '')
}

function readToken (): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined
  } catch {
    return undefined
  }
}
