// What went wrong with one attempt, in the retry policy's words.
import { closeSync, openSync } from 'node:fs'
import { isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'
import { AttemptAborted } from '../errors.ts'

export type FailureKind = 'connect-failure' | 'reset' | 'timeout' | 'bad-response' | 'client-abort' | 'bad-request'

// The request provably never reached the upstream: safe to retry even a POST.
const CONNECT_FAILURE_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']
const TIMEOUT_CODES = ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']
// The request itself could not be sent as given: the client's fault, never the upstream's.
const BAD_REQUEST_CODES = ['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']
const RESET_CODES = ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']
// Headers over undici's limit, and undici's assertions on answers its state machine cannot take (a 101 to a request
// that did not ask to upgrade, a status below 100): the upstream's bytes, not the connection, were at fault.
// The gateway's own resources ran out (file descriptors, local ports, socket buffers, memory): no fault of the upstream
const LOCAL_RESOURCE_CODES = ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS', 'ENOMEM']
const BAD_RESPONSE_CODES = ['UND_ERR_INFO', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_HEADERS_OVERFLOW', 'ERR_ASSERTION', 'ERR_UPSTREAM_RESPONSE']

/** A response undici read but the proxy will not pass on (an invalid status, a transfer coding it cannot undo). */
export class UnforwardableResponse extends Error {
  readonly code = 'ERR_UPSTREAM_RESPONSE'
}

/**
 * Marks an error the connection's setup failed with (TCP or TLS, src/upstream/connector.ts): no request was written
 * on it, whatever its code. A TLS handshake refused for an untrusted issuer, a wrong protocol version or an alert has
 * codes no list keeps up with (UNABLE_TO_GET_ISSUER_CERT_LOCALLY, ERR_SSL_WRONG_VERSION_NUMBER…), and as resets they
 * would not send a POST on to the next target (HAProxy's conn-failure and Envoy's connect-failure cover them).
 */
export const CONNECT_PHASE = Symbol('switchyard.connectPhase')

/**
 * Whether an attempt or a probe failed for want of the gateway's own resources (out of file descriptors or local
 * ports): it says nothing of the target, so no outlier detection, breaker or health verdict may hear of it, as
 * Envoy counts such failures as its own overflow and nginx logs them as its own error, not the upstream's.
 */
export function isLocalResourceError (err: unknown, host: LocalHost = THIS_HOST): boolean {
  const failed = err as { code?: unknown; syscall?: unknown; address?: unknown } | null
  const code = failed?.code
  if (typeof code !== 'string') return false
  // EADDRNOTAVAIL is also a connect to an IPv6 target from a host with IPv6 off ('::1' in a config written for
  // another machine): the target's address, not the gateway's ports, so it is tried elsewhere and said as such
  if (code === 'EADDRNOTAVAIL') return !(typeof failed?.address === 'string' && isIPv6(failed.address) && !host.hasIpv6())
  if (LOCAL_RESOURCE_CODES.includes(code)) return true
  // A name lookup out of fds fails with no EMFILE in sight: getaddrinfo cannot open /etc/hosts or a DNS socket and
  // says EBUSY, ENOTFOUND or EAI_AGAIN. Whether the gateway can open a descriptor tells its shortage from the name's
  // (one open and close, on failed lookups only).
  return (failed?.syscall === 'getaddrinfo' || LOOKUP_CODES.includes(code)) && !host.fdsLeft()
}

/** What isLocalResourceError asks of the machine, on the rare errors that need it. */
export interface LocalHost {
  /** Whether this process can open one more file descriptor now. */
  fdsLeft (): boolean
  /** Whether the machine has an IPv6 address (loopback included). */
  hasIpv6 (): boolean
}

const THIS_HOST: LocalHost = {
  fdsLeft: canOpenDescriptor,
  hasIpv6: () => Object.values(networkInterfaces()).some((addresses) => addresses?.some((a) => a.family === 'IPv6') === true),
}

/** Codes a failed name lookup gives (Node's dns.lookup: getaddrinfo's errors). */
const LOOKUP_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_SYSTEM', 'EBUSY']

function canOpenDescriptor (): boolean {
  try {
    closeSync(openSync('/dev/null', 'r'))
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code !== 'EMFILE' && code !== 'ENFILE'
  }
}

/** The messages of undici's SocketErrors that mean an answer it refused (above), not a dropped connection. */
const BAD_ANSWER_MESSAGES: readonly string[] = ['bad upgrade', 'bad response']

export function classifyError (err: unknown): FailureKind {
  // undici's HTTPParserError carries no code (it looks llhttp's error number up in a table keyed by name): its name
  // is all that tells a response its parser refused from a dropped connection
  if ((err as { name?: unknown } | null)?.name === 'HTTPParserError') return 'bad-response'
  if ((err as { [CONNECT_PHASE]?: true } | null)?.[CONNECT_PHASE] === true) return 'connect-failure'
  const code = (err as { code?: string } | null)?.code
  if (code === undefined) return 'reset'
  if (CONNECT_FAILURE_CODES.includes(code)) return 'connect-failure'
  if (TIMEOUT_CODES.includes(code)) return 'timeout'
  if (BAD_REQUEST_CODES.includes(code)) return 'bad-request'
  // Answers undici refuses with no code of its own, only a SocketError (UND_ERR_SOCKET, as for a dropped connection)
  // whose message says so: a 101 with Upgrade and Connection: upgrade to a request that did not ask to upgrade
  // ('bad upgrade', RFC 9110 §15.2.2), a 100 Continue to one that sent no Expect or an answer to no request ('bad
  // response'). The answer, not the connection, is at fault: a bad response, not retried, as a bare 101 is.
  if (code === 'UND_ERR_SOCKET' && BAD_ANSWER_MESSAGES.includes((err as Error).message)) return 'bad-response'
  if (RESET_CODES.includes(code)) return 'reset'
  if (code.startsWith('HPE_') || BAD_RESPONSE_CODES.includes(code)) return 'bad-response'
  return 'reset'
}

/**
 * Why an upstream attempt failed, as its error names it (Envoy's UPSTREAM_TRANSPORT_FAILURE_REASON): a wrong CA, an
 * expired certificate and a refused connection are otherwise one upstream_unreachable. Identifiers only (the line
 * is built by hand, unescaped).
 */
export function errorCodeOf (err: unknown): string | undefined {
  // the gateway's own abort (an attempt's timeout: error upstream_timeout says so), no upstream's failure
  if (err instanceof AttemptAborted) return undefined
  const e = err as { code?: unknown; name?: unknown } | null | undefined
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : undefined
  return code !== undefined && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined
}
