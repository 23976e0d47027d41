import t from 'tap'
import { classifyError, type FailureKind } from '../../src/resilience/classify.ts'

const err = (code?: string): Error => Object.assign(new Error('x'), code === undefined ? {} : { code })

t.test('classifyError', async (t) => {
  const cases: [error: unknown, want: FailureKind][] = [
    [err('ECONNREFUSED'), 'connect-failure'],
    [err('ENOTFOUND'), 'connect-failure'],
    [err('EAI_AGAIN'), 'connect-failure'],
    [err('EHOSTUNREACH'), 'connect-failure'],
    [err('ENETUNREACH'), 'connect-failure'],
    [err('EHOSTDOWN'), 'connect-failure'],
    [err('UND_ERR_CONNECT_TIMEOUT'), 'connect-failure'],
    [err('ERR_TLS_CERT_ALTNAME_INVALID'), 'connect-failure'],
    [err('DEPTH_ZERO_SELF_SIGNED_CERT'), 'connect-failure'],
    [err('SELF_SIGNED_CERT_IN_CHAIN'), 'connect-failure'],
    [err('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), 'connect-failure'],
    [err('CERT_HAS_EXPIRED'), 'connect-failure'],
    [err('UND_ERR_HEADERS_TIMEOUT'), 'timeout'],
    [err('UND_ERR_BODY_TIMEOUT'), 'timeout'],
    [err('ECONNRESET'), 'reset'],
    [err('EPIPE'), 'reset'],
    [err('UND_ERR_SOCKET'), 'reset'],
    [err('UND_ERR_CLOSED'), 'reset'],
    [err('ECONNABORTED'), 'reset'],
    [err('HPE_INVALID_CONSTANT'), 'bad-response'],
    [err('HPE_INVALID_HEADER_TOKEN'), 'bad-response'],
    [err('UND_ERR_INFO'), 'bad-response'],
    [err('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'), 'bad-response'],
    [err('UND_ERR_HEADERS_OVERFLOW'), 'bad-response'],
    [err('ERR_ASSERTION'), 'bad-response'],
    // undici's HTTPParserError has no code (upstream-fuzz.test.ts found every parser refusal taken for a reset)
    [Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' }), 'bad-response'],
    [err('ESOMETHINGNEW'), 'reset'],
    [err(), 'reset'],
    [null, 'reset'],
    [undefined, 'reset'],
    ['a string', 'reset'],
    [{ code: 'ECONNREFUSED' }, 'connect-failure'],
  ]
  for (const [error, want] of cases) t.equal(classifyError(error), want, `${String((error as { code?: string } | null)?.code ?? error)} → ${want}`)
})

t.test('codes are matched exactly (case-sensitive)', async (t) => {
  t.equal(classifyError(err('econnrefused')), 'reset')
  t.equal(classifyError(err('hpe_invalid')), 'reset')
})
