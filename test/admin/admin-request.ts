// One request to an admin listener with exactly the headers a test gives (Host, Origin, Sec-Fetch-Site included),
// as a browser or a probe would send them; the answer's status and parsed JSON body.
import { request } from 'node:http'

export interface AdminAnswer { status: number; body: Record<string, unknown> }

export function adminRequest (base: string, method: string, path: string, headers: Record<string, string> = {}, body = ''): Promise<AdminAnswer> {
  const { hostname, port } = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      if (res.headers['content-type']?.startsWith('text/event-stream') === true) {
        req.destroy() // a live stream never ends: its status is the answer
        resolve({ status: res.statusCode ?? 0, body: {} })
        return
      }
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => {
        let parsed: Record<string, unknown> = {}
        try { parsed = JSON.parse(text) as Record<string, unknown> } catch { /* not JSON (the page, metrics) */ }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}
