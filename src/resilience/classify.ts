// What went wrong with one attempt, in the retry policy's words.
export type FailureKind = 'connect-failure' | 'reset' | 'timeout' | 'bad-response' | 'client-abort' | 'bad-request'

// The request provably never reached the upstream: safe to retry even a POST.
const CONNECT_FAILURE_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']
const TIMEOUT_CODES = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']
// The request itself could not be sent as given: the client's fault, never the upstream's.
const BAD_REQUEST_CODES = ['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']
const RESET_CODES = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']

export function classifyError (err: unknown): FailureKind {
  const code = (err as { code?: string } | null)?.code
  if (code === undefined) return 'reset'
  if (CONNECT_FAILURE_CODES.includes(code)) return 'connect-failure'
  if (TIMEOUT_CODES.includes(code)) return 'timeout'
  if (BAD_REQUEST_CODES.includes(code)) return 'bad-request'
  if (RESET_CODES.includes(code)) return 'reset'
  if (code.startsWith('HPE_') || code === 'UND_ERR_INFO' || code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') return 'bad-response'
  return 'reset'
}
