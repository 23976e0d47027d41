// What an upstream's answer must be for the gateway to pass it on, and what of its status line goes on: one set of
// rules for a request's answer (attempt.ts) and a declined upgrade's (upgrade-attempt.ts).
import type { IncomingHttpHeaders } from 'node:http'
import { STATUS_CODES } from '../node-http.ts'
import { UnforwardableResponse } from '../resilience/classify.ts'

/**
 * Why the answer cannot be passed on, or undefined. A status past 599 is invalid (RFC 9110 §15), and a transfer
 * coding other than chunked cannot be undone here: its bytes would reach the client without its name (RFC 9112
 * §6.1; nginx answers 502 too). An answer without a body (to HEAD, a 204 or a 304) may name the codings its GET
 * would have had (§6.1): no coded bytes follow, and the field is dropped as hop-by-hop.
 */
export function unforwardable (statusCode: number, headers: IncomingHttpHeaders, method: string): UnforwardableResponse | undefined {
  if (statusCode > 599) return new UnforwardableResponse(`status ${statusCode}`)
  const te = headers['transfer-encoding']
  if (te === undefined || (typeof te === 'string' && te.trim().toLowerCase() === 'chunked')) return undefined
  if (method === 'HEAD' || statusCode === 204 || statusCode === 304) return undefined
  return new UnforwardableResponse(`transfer coding ${String(te)}`)
}

/** A reason phrase the gateway writes as it came: visible ASCII, spaces and tabs (RFC 9112 §4, without obs-text). */
const REASON_PHRASE = /^[\t\x20-\x7e]*$/

/**
 * The upstream's reason phrase where it is not the one Node writes anyway (nginx and HAProxy pass it on too), else
 * undefined: one comparison for the usual answer. Only visible ASCII and tabs: Node refuses some other bytes, and
 * undici decoded the phrase as UTF-8, which latin1 on the wire would not write back as it came.
 */
export function forwardedReason (statusCode: number, statusMessage: string | undefined): string | undefined {
  if (statusMessage === undefined || statusMessage === STATUS_CODES[statusCode] || !REASON_PHRASE.test(statusMessage)) return undefined
  return statusMessage
}
