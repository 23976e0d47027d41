// The gateway bugs the upstream fuzzing found (upstream-fuzz.test.ts), each pinned by an exact case at the end of that
// file. Fixed ones are in FIXED: a violation that is one of them fails the run like any other. The others are
// behaviour of undici the gateway cannot reach (counted and commented; they fail the run only under FUZZ_STRICT=1).

/**
 * undici's HTTPParserError never carries its HPE_* code (it looks the number up in a table keyed by name), so every
 * response its parser refuses (obs-fold, a bare LF, a bad status line, a bad Content-Length…) was classified 'reset':
 * answered 502 upstream_unreachable instead of upstream_bad_response, and retried as if the connection had dropped.
 */
export const KNOWN_PARSER_RESET = 'a response undici\'s parser refuses is taken for a reset (upstream_unreachable, retried)'

/** Headers over undici's limit (UND_ERR_HEADERS_OVERFLOW) were taken for a reset too. */
export const KNOWN_OVERFLOW_RESET = 'response headers over undici\'s limit are taken for a reset'

/**
 * A 101 to a request that did not ask to upgrade, or a status below 100, trips an assertion in undici (ERR_ASSERTION):
 * taken for a reset too.
 */
export const KNOWN_ASSERTION_RESET = 'a 101 without Upgrade or a status below 100 is taken for a reset'

/** A status from 600 to 999 (invalid, RFC 9110 §15) was passed to the client as it came. */
export const KNOWN_STATUS_INVALID = 'an upstream status over 599 is passed to the client'

/**
 * A transfer coding other than chunked (gzip; gzip, chunked; chunked twice) had its Transfer-Encoding removed as
 * hop-by-hop while its coded bytes went to the client as the body (RFC 9112 §6.1, §7: nginx answers 502).
 */
export const KNOWN_TE_OTHER = 'a transfer coding other than chunked is forwarded as the body without its name'

/** A 204 with a Content-Length (and a body) kept the Content-Length on its way to the client (RFC 9110 §8.6). */
export const KNOWN_204_LENGTH = 'a 204 reaches the client with a Content-Length'

/**
 * A retryable status (502, 503, 504) read to its end and dropped for a retry was no longer under the per-try timer:
 * an error body that trickled held the request past perTryTimeoutMs and the whole request deadline.
 */
export const KNOWN_DROP_UNTIMED = 'a retryable error body being dropped is not bounded by the per-try timeout'

/**
 * A response cut short (the upstream's body broke after the head went out) ended with a FIN: an HTTP/1.0 client, whose
 * body runs to the close (no length, no chunks), took the cut for the end of a complete response.
 */
export const KNOWN_CUT_LOOKS_COMPLETE = 'a response cut short ends like a complete one for an HTTP/1.0 client'

/**
 * undici refuses a 100 Continue the request did not expect ('bad response'), though a client must read 1xx answers it
 * did not expect (RFC 9110 §15.2). The gateway never sees the bytes: 502 upstream_bad_response, one attempt
 * (response-unexpected-100.test.ts; it was taken for a reset and retried).
 */
export const KNOWN_100_CONTINUE = 'an unexpected 100 Continue is refused by undici'

/**
 * undici (llhttp) keeps an HTTP/1.0 connection alive after a response with Transfer-Encoding and keep-alive, which
 * RFC 9112 §6.1 calls faulty framing (close after it). The gateway is not told the response's version.
 */
export const KNOWN_TE_HTTP10_REUSED = 'an HTTP/1.0 connection that carried Transfer-Encoding is reused'

/**
 * undici takes a reset (ECONNRESET) that ends a close-delimited body for its clean end (client-h1's onSocketError), so
 * a body cut by a reset reaches the client as complete: RFC 9112 §8 has it recorded as incomplete (nginx cuts the
 * client's response short). undici tells the gateway of a normal end, inside the reset's 'error' event: the gateway's
 * connector marks the reset first (src/upstream/connector.ts), and the attempt cuts the client's response.
 */
export const KNOWN_CLOSE_RESET_COMPLETE = 'a close-delimited body ended by a reset is taken for complete'

/** Fixed in src/ since the fuzzing found them (src/resilience/classify.ts, src/proxy/attempt.ts, src/proxy/exchange.ts, src/upstream/connector.ts). */
export const FIXED: ReadonlySet<string> = new Set<string>([KNOWN_PARSER_RESET, KNOWN_OVERFLOW_RESET, KNOWN_ASSERTION_RESET, KNOWN_STATUS_INVALID, KNOWN_TE_OTHER,
  KNOWN_204_LENGTH, KNOWN_DROP_UNTIMED, KNOWN_CUT_LOOKS_COMPLETE, KNOWN_CLOSE_RESET_COMPLETE])
