// A route whose path no request can ever carry after normalisation is dead config: the operator expects the config
// check (`npm run check`, and a reload) to refuse it with a reason, as nginx -t does, rather than load a route that
// silently never matches. Requests are normalised before routing (no '.', '..' or empty segments, printable ASCII
// only, everything else percent-encoded), so a route path with a '.' segment or a raw space can never match.
// Pins src/routing/path.ts routePathProblem: the printable-ASCII range `[\x21-\x7e]` (line 97) and the
// dot-segment pattern `\/\.\.?(\/|$)` (line 100), and escapes spelled as requests are routed, with the rest of its
// contract around them.
import t from 'tap'
import { normaliseRequestTarget, routePathProblem } from '../../src/routing/path.ts'

t.test('route paths that could never match a normalised request are refused', async (t) => {
  const cases: [path: string, refused: boolean][] = [
    ['/', false],
    ['/payment', false],
    ['/api/v1/', false],
    ['/a.b/c..d/.well-known', false], // dots inside a segment are fine
    ['/%20x', false], // an escaped space is how requests carry one
    ['payment', true],
    ['/a b', true], // a raw space: requests carry %20
    ['/a\tb', true],
    ['/caf\u00e9', true],
    ['/a?b', true],
    ['/a#b', true],
    ['/a//b', true],
    ['/a/./b', true],
    ['/a/.', true],
    ['/.', true],
    ['/a/../b', true],
    ['/a/..', true],
    ['/a\\b', true],
    // escapes as requests are routed: a decoded one never matches, a refused one never arrives
    ['/%70ayment', true], // requests for it are routed as /payment
    ['/files/a%2fb', true], // 400 bad_path
    ['/files/a%5Cb', true],
    ['/x/%2e%2e', true],
    ['/x/%00', true],
    ['/caf%C3%A9', false], // kept as it came: matched by requests spelled so
    ['/caf%c3%a9', true], // requests for it are routed as /caf%C3%A9 (escapes in upper case)
    ['/100%', true], // a bad escape
    ['/a;b', false],
  ]
  for (const [path, refused] of cases) {
    const problem = routePathProblem(path)
    t.equal(problem !== undefined, refused, `${JSON.stringify(path)} ${refused ? `refused (${problem})` : 'accepted'}`)
    // what makes a non-normalised one dead: the request for exactly that path is routed as something else (or
    // refused); raw spaces and non-ASCII never reach routing at all (Node's parser refuses them in a request-target)
    if (refused && /\/\/|\/\.|\\/.test(path)) {
      t.not(normaliseRequestTarget(path)?.path, path, `a request for ${JSON.stringify(path)} is not routed as ${JSON.stringify(path)}`)
    }
  }
})

// The reason names what is wrong: a '..;' segment holds no escape at all, and is refused because servlet containers
// read it as a dot segment.
t.test("a '..;' or '.;' segment is refused as such, not as a bad escape", async (t) => {
  for (const path of ['/api/..;/admin', '/api/.;x/admin']) t.match(routePathProblem(path), /'\.\.;' or '\.;' segment/, path)
  t.match(routePathProblem('/a/%2e%2e/b'), /escape/, 'an encoded dot segment is an escape requests are refused for')
})

// `npm run check` and a reload print why a route path is refused; the operator fixes the config from that reason, so
// it must name the rule the path breaks (as nginx -t names the directive), not another one: a path without a leading
// '/' is told so, a '?' or '#' is named, and '//', '.', '..' or a backslash is called un-normalised rather than a
// "bad escape" (there is no escape in '/a\b') or "spelled as routed" (which reads as a case or escape matter).
// Pins each early check of src/routing/path.ts routePathProblem: without one, the path is still refused, but by a
// later check whose reason points the operator at the wrong thing.
t.test('a refused route path is refused for the rule it breaks', async (t) => {
  const cases: [path: string, reason: RegExp][] = [
    ['payment', /start with '\/'/],
    ['http://h/payment', /start with '\/'/],
    ['/a?b', /\? or #/],
    ['/a#b', /\? or #/],
    ['/a//b', /normalised path/],
    ['/a/./b', /normalised path/],
    ['/a/.', /normalised path/],
    ['/a/../b', /normalised path/],
    ['/a\\b', /normalised path/],
  ]
  for (const [path, reason] of cases) t.match(routePathProblem(path), reason, `${JSON.stringify(path)}: ${String(reason)}`)
})

// A request-target arrives as printable ASCII, 0x21 '!' to 0x7e '~' (RFC 3986 §2: everything else is percent-encoded),
// so a configured route path may use exactly that range: '!' and '~' are ordinary path characters an operator writes
// ('/~alice', '/deals!'), and refusing them would reject valid config; a space (0x20) or DEL (0x7f) can never arrive
// raw in a request-target, so a route spelled with one is dead config that the check must refuse.
// Pins both ends of src/routing/path.ts routePathProblem's `[\x21-\x7e]` range (the existing test only tries a space,
// a tab and a non-ASCII letter).
t.test('route paths may use every printable ASCII character and nothing outside it', async (t) => {
  const cases: [path: string, refused: boolean][] = [
    ['/deals!', false], // 0x21, the lowest printable character
    ['/~alice', false], // 0x7e, the highest
    ['/a}b', false], // 0x7d
    ['/a b', true], // 0x20, just below
    ['/a\x7fb', true], // 0x7f DEL, just above
  ]
  for (const [path, refused] of cases) {
    const problem = routePathProblem(path)
    t.equal(problem !== undefined, refused, `${JSON.stringify(path)} ${refused ? 'refused' : `accepted (${problem})`}`)
  }
})
