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
