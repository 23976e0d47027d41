// node:http client for proxy tests: unlike fetch() it may send Host, Connection, TE and other
// headers browsers forbid, and it never pools connections unless given an agent.
import { request, type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http'
import type { Readable } from 'node:stream'
import type { Echo } from '../helpers/upstream.ts'

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Buffer
  text (): string
  json<T = Record<string, unknown>> (): T
  /** The upstream's echo of what it received. */
  echo (): Echo
}

export interface HttpOptions {
  method?: string
  headers?: OutgoingHttpHeaders
  body?: string | Buffer | Readable
  /** Defaults to false: a fresh connection, closed after the response. */
  agent?: Agent | false
}

export function httpRequest (url: string, options: HttpOptions = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.once('error', reject)
      res.once('end', () => {
        const body = Buffer.concat(chunks)
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          text: () => body.toString('utf8'),
          json: <T>() => JSON.parse(body.toString('utf8')) as T,
          echo: () => JSON.parse(body.toString('utf8')) as Echo,
        })
      })
    })
    req.once('error', reject)
    const body = options.body
    if (body === undefined) req.end()
    else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body)
    else body.pipe(req)
  })
}

/** The JSON error body every gateway error carries. */
export interface ErrorBody {
  error: string
  message: string
  requestId: string
}
