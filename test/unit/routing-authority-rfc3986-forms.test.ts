// A Host value (or an absolute-form target's authority) that RFC 3986 §3.2.2-§3.2.3 allows must be served, not refused
// with 400 bad_request: an empty port ('shop.example:', port = *DIGIT, RFC 3986 §3.2.3 "URI producers ... should omit
// the port component and its ':' delimiter if port is empty", but a recipient must still accept it), a reg-name holding
// a sub-delim such as ';' or '=', and a percent-encoded reg-name (an IDN written as UTF-8 escapes). A client sending
// one of these is well-formed; refusing it turns a valid request into a client error.
// Pins src/routing/path.ts AUTHORITY: the `*` of the port, the sub-delims list and the pct-encoded alternative.
import t from 'tap'
import { isValidAuthority, normaliseRequestTarget } from '../../src/routing/path.ts'

t.test('every authority form RFC 3986 allows is accepted', async (t) => {
  for (const value of ['shop.example:', 'shop.example:8080', 'a;b.example', 'a=b.example', 'caf%C3%A9.example', '[::1]:']) {
    t.ok(isValidAuthority(value), `${JSON.stringify(value)} is an authority`)
  }
  t.strictSame(normaliseRequestTarget('http://shop.example:/a'), { path: '/a', query: '' }, 'absolute-form with an empty port is routable')
  // and the grammar still refuses what it should
  for (const value of ['', ':8080', 'user@shop.example', 'shop.example:8x', 'a b']) {
    t.notOk(isValidAuthority(value), `${JSON.stringify(value)} is not an authority`)
  }
})
