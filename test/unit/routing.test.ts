// The routing table: each subtest is one behaviour, named as its file was.
import t, { type Test } from 'tap'
import { isValidAuthority, normaliseRequestTarget, routePathProblem } from '../../src/routing/path.ts'
import { routeIdOf, type RouteSpec, RoutingTable } from '../../src/routing/table.ts'
import type { HttpMethod, RouteConfig } from '../../src/config/schema.ts'
import { mulberry32 } from './prng.ts'

// A Host value (or an absolute-form target's authority) that RFC 3986 §3.2.2-§3.2.3 allows must be served, not refused
// with 400 bad_request: an empty port ('shop.example:', port = *DIGIT, RFC 3986 §3.2.3 "URI producers ... should omit
// the port component and its ':' delimiter if port is empty", but a recipient must still accept it), a reg-name of
// unreserved characters ('_', '~'), and a percent-encoded reg-name (an IDN written as UTF-8 escapes). A client sending
// one of these is well-formed; refusing it turns a valid request into a client error. The sub-delims RFC 3986 also lets
// a reg-name hold (',' ';' '=' …) no host name holds: refused, as a Host list went on as an X-Forwarded-Host list.
// Pins src/routing/path.ts AUTHORITY: the `*` of the port, the unreserved set (no sub-delims) and the pct-encoded alternative.
t.test('routing-authority-rfc3986-forms', async (t) => {
  t.test('every authority form RFC 3986 allows is accepted', async (t) => {
    for (const value of ['shop.example:', 'shop.example:8080', 'a_b.example', 'a~b.example', 'caf%C3%A9.example', '[::1]:']) {
      t.ok(isValidAuthority(value), `${JSON.stringify(value)} is an authority`)
    }
    t.strictSame(normaliseRequestTarget('http://shop.example:/a'), { path: '/a', query: '' }, 'absolute-form with an empty port is routable')
    // and the grammar still refuses what it should
    // nor the sub-delims RFC 3986 lets a reg-name hold, which no host name holds (a list: 'a,b'; review r36g)
    for (const value of ['', ':8080', 'user@shop.example', 'shop.example:8x', 'a b', 'a;b.example', 'a=b.example', 'a,b.example', "a'b", 'a*b']) {
      t.notOk(isValidAuthority(value), `${JSON.stringify(value)} is not an authority`)
    }
  })
})

// README: `routes[].headers` narrows a route "to requests carrying these headers with exactly these values (names
// case-insensitive)". Header values are opaque to the gateway (a tenant id, a token, a version tag): an operator who
// routes `x-tenant: ACME` to a dedicated pool expects `x-tenant: acme` to stay on the shared route, as Envoy's
// exact header matcher does. Pins src/routing/table.ts match's `header?.(name) === value` (line 121).
t.test('routing-header-values-exact', async (t) => {
  t.test('header values match exactly; header names in any case', async (t) => {
    const table = new RoutingTable([
      { path: '/api', pool: 'dedicated', stripPrefix: false, headers: { 'X-Tenant': 'ACME' } },
      { path: '/api', pool: 'shared', stripPrefix: false },
    ])
    const cases: [value: string | undefined, pool: string][] = [
      ['ACME', 'dedicated'],
      ['acme', 'shared'],
      ['Acme', 'shared'],
      ['ACME ', 'shared'],
      ['ACMEX', 'shared'],
      [undefined, 'shared'],
    ]
    for (const [value, pool] of cases) {
      const lookup = (name: string): string | undefined => (name === 'x-tenant' ? value : undefined)
      t.equal(table.match('/api/x', 'GET', undefined, lookup)?.route.pool, pool, `x-tenant: ${JSON.stringify(value)} → ${pool}`)
    }
  })
})

// A request's Host may end with the root dot ('api.example.com.' is the same name, RFC 1034 §3.1): it matches a
// route for 'api.example.com', as Envoy's strip_trailing_host_dot has it. Only one dot is the root's.
t.test('routing-host-trailing-dot', async (t) => {
  const table = new RoutingTable([
    { path: '/', pool: 'api', host: 'api.example.com', stripPrefix: false },
    { path: '/', pool: 'any', stripPrefix: false },
  ])
  const poolFor = (host: string): string | undefined => table.match('/x', 'GET', host)?.route.pool

  t.test('one trailing dot is stripped from the request host, with or without a port', async (t) => {
    t.equal(poolFor('api.example.com'), 'api')
    t.equal(poolFor('api.example.com.'), 'api')
    t.equal(poolFor('API.Example.com.'), 'api')
    t.equal(poolFor('api.example.com.:8080'), 'api')
  })

  t.test('other names are not taken for it', async (t) => {
    t.equal(poolFor('api.example.com..'), 'any', 'two dots are no root dot')
    t.equal(poolFor('.'), 'any')
    t.equal(poolFor('api.example.co'), 'any')
  })

  t.test('a route written with the root dot matches both spellings', async (t) => {
    const dotted = new RoutingTable([{ path: '/', pool: 'api', host: 'api.example.com.', stripPrefix: false }])
    t.equal(dotted.match('/x', 'GET', 'api.example.com')?.route.pool, 'api')
    t.equal(dotted.match('/x', 'GET', 'api.example.com.')?.route.pool, 'api')
  })
})

// The routing table's indexes (host index, prefix map, depth cut) against a plain scan of every route with the
// documented precedence: a host some route names has its own routes alone (longest prefix on a segment boundary, then
// headers > methods, then config order); any other request the any-host routes, by the same rule.
t.test('routing-index', async (t) => {
  interface Request { path: string; method: string; host: string | undefined; headers: Record<string, string> }

  function reference (routes: readonly RouteSpec[], r: Request): number | undefined {
    const nameOf = (host: string): string => host.replace(/:\d+$/, '').toLowerCase()
    const hostname = r.host === undefined ? undefined : nameOf(r.host)
    const best = (inScope: (route: RouteSpec) => boolean): number | undefined => {
      let found: { index: number; length: number; specificity: number } | undefined
      routes.forEach((route, index) => {
        if (!inScope(route)) return
        const prefix = route.path
        const onBoundary = prefix === '/' || r.path === prefix || r.path.startsWith(`${prefix}/`)
        if (!onBoundary) return
        if (route.methods !== undefined && !route.methods.includes(r.method)) return
        if (route.headers !== undefined && !Object.entries(route.headers).every(([n, v]) => r.headers[n] === v)) return
        const specificity = (route.headers ? 2 : 0) + (route.methods ? 1 : 0)
        const length = prefix === '/' ? 0 : prefix.length
        if (found === undefined || length > found.length || (length === found.length && specificity > found.specificity)) found = { index, length, specificity }
      })
      return found?.index
    }
    const named = hostname !== undefined && routes.some((route) => route.host !== undefined && nameOf(route.host) === hostname)
    return named ? best((route) => route.host !== undefined && nameOf(route.host) === hostname) : best((route) => route.host === undefined)
  }

  t.test('matches exactly what a scan of every route would, on random tables and requests', async (t) => {
    const rng = mulberry32(42)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!
    const segments = ['a', 'b', 'api', 'v1']
    const randomPath = (maxDepth: number): string => {
      const depth = Math.floor(rng() * (maxDepth + 1))
      return '/' + Array.from({ length: depth }, () => pick(segments)).join('/')
    }
    let checked = 0
    for (let round = 0; round < 60; round++) {
      const routes: RouteSpec[] = Array.from({ length: 1 + Math.floor(rng() * 40) }, (_, i) => ({
        path: randomPath(3),
        pool: `p${i}`,
        stripPrefix: rng() < 0.5,
        ...(rng() < 0.3 ? { host: pick(['one.example', 'Two.example', 'three.example:8443']) } : {}),
        ...(rng() < 0.3 ? { methods: [pick(['GET', 'POST'] as HttpMethod[])] } : {}),
        ...(rng() < 0.15 ? { headers: { 'x-canary': pick(['1', '2']) } } : {}),
      }))
      const table = new RoutingTable(routes)
      for (let n = 0; n < 200; n++) {
        const request: Request = {
          path: randomPath(6) + (rng() < 0.2 ? '/' : ''),
          method: pick(['GET', 'POST', 'PUT']),
          host: pick([undefined, 'one.example', 'ONE.example:8080', 'two.example', 'three.example', 'other.example']),
          headers: rng() < 0.5 ? { 'x-canary': pick(['1', '2']) } : {},
        }
        const path = request.path.replace(/^\/\/$/, '/')
        const got = table.match(path, request.method, request.host, (name) => request.headers[name])?.route.index
        const want = reference(routes, { ...request, path })
        if (got !== want) {
          t.fail(`${JSON.stringify(request)} on ${JSON.stringify(routes)}: ${got} vs ${want}`)
          return
        }
        checked++
      }
    }
    t.equal(checked, 60 * 200)
  })

  t.test('a path deeper than every route is looked up from the deepest route prefix down', async (t) => {
    const table = new RoutingTable([
      { path: '/', pool: 'root', stripPrefix: false },
      { path: '/svc1/api', pool: 's1', stripPrefix: true },
      { path: '/svc2', pool: 's2', stripPrefix: false },
    ])
    const cases: [string, string, string][] = [
      ['/svc1/api/v1/items/42', 's1', '/v1/items/42'],
      ['/svc1/api/', 's1', '/'],
      ['/svc1/apix/y', 'root', '/svc1/apix/y'],
      ['/svc2/a/b/c/d/e/f', 's2', '/svc2/a/b/c/d/e/f'],
      ['/svc1', 'root', '/svc1'],
      ['/', 'root', '/'],
    ]
    for (const [path, pool, upstream] of cases) {
      const m = table.match(path, 'GET', undefined)
      t.strictSame([m?.route.pool, m?.upstreamPath], [pool, upstream], path)
    }
  })

  t.test('only a root route: every path reaches it', async (t) => {
    const table = new RoutingTable([{ path: '/', pool: 'root', stripPrefix: false }])
    for (const path of ['/', '/a', '/a/b/', '/a/b/c']) t.equal(table.match(path, 'GET', undefined)?.route.pool, 'root', path)
  })

  t.test('10,000 routes: host-bound and any-host routes on one prefix keep their precedence', async (t) => {
    const routes: RouteSpec[] = []
    for (let i = 0; i < 5000; i++) routes.push({ path: '/shared', pool: `h${i}`, host: `h${i}.example`, stripPrefix: false })
    routes.push({ path: '/shared', pool: 'any-post', methods: ['POST'], stripPrefix: false })
    routes.push({ path: '/shared', pool: 'any', stripPrefix: false })
    for (let i = 0; routes.length < 10_000; i++) routes.push({ path: `/svc${i}/api`, pool: `s${i}`, stripPrefix: false })
    const table = new RoutingTable(routes)
    t.equal(table.size, 10_000)
    t.equal(table.match('/shared/x', 'GET', 'h4321.example:80')?.route.pool, 'h4321')
    t.equal(table.match('/shared/x', 'POST', 'h4321.example')?.route.pool, 'h4321', 'host-bound beats method-bound')
    t.equal(table.match('/shared/x', 'POST', 'nobody.example')?.route.pool, 'any-post')
    t.equal(table.match('/shared', 'GET', undefined)?.route.pool, 'any')
    t.equal(table.match('/svc4000/api/v2', 'GET', 'h1.example'), undefined, "a host with routes of its own reaches no any-host one")
    t.equal(table.match('/svc4000/api/v2', 'GET', 'nobody.example')?.route.pool, 's4000')
    t.equal(table.match('/svc4000/ap', 'GET', undefined), undefined)
  })
})

// A route bound to an IPv6 literal host (`host: '[::1]'`, as the config requires it written) is named by its id in
// metrics, /status and `POST /routes/:name/canary`: the operator expects `[::1]/x`, the host as written with both
// brackets, and the table to keep that host whole. Dropping the closing bracket when the port is stripped still
// matches requests (both sides lose it) but names the route `[::1/x`. Pins src/routing/table.ts stripPort's
// `host.slice(0, close + 1)` (line 173), through hostnameOf and routeIdOf.
t.test('routing-ipv6-host-route-id', async (t) => {
  const base = { path: '/x', pool: 'p', stripPrefix: false }

  t.test('an IPv6 route host keeps its brackets in the id and in the table', async (t) => {
    const cases: [host: string, id: string][] = [
      ['[::1]', '[::1]/x'],
      ['[2001:DB8::1]', '[2001:db8::1]/x'],
    ]
    for (const [host, id] of cases) {
      t.equal(routeIdOf({ ...base, host }), id, `${host} → ${id}`)
      const table = new RoutingTable([{ ...base, host }])
      const route = table.routes[0]!
      t.equal(route.id, id, `table id of ${host}`)
      t.equal(route.label, id, `label of unnamed ${host}`)
      t.equal(route.host, id.slice(0, -2), `host of ${host} as the table keeps it`)
    }
  })

  t.test('requests to the IPv6 host match with and without a port; the label is the whole id', async (t) => {
    const table = new RoutingTable([{ ...base, host: '[::1]' }, { ...base, pool: 'any' }])
    for (const host of ['[::1]', '[::1]:8080']) {
      const m = table.match('/x', 'GET', host)
      t.equal(m?.route.pool, 'p', `${host} → p`)
      t.equal(m?.route.label, '[::1]/x', `${host} → labelled [::1]/x`)
    }
    t.equal(table.match('/x', 'GET', '[::2]:8080')?.route.pool, 'any')
  })
})


t.test('routing-path', async (t) => {
  type Want = [path: string, query: string] | undefined

  function check (t: Test, cases: readonly [raw: string, want: Want, why?: string][]): void {
    for (const [raw, want, why] of cases) {
      const got = normaliseRequestTarget(raw)
      const label = `${JSON.stringify(raw)}${why ? ` (${why})` : ''}`
      if (want === undefined) t.equal(got, undefined, `${label} refused`)
      else t.strictSame(got, { path: want[0], query: want[1] }, `${label} → ${want[0]}${want[1]}`)
    }
  }

  t.test('plain targets pass through unchanged', async (t) => {
    check(t, [
      ['/', ['/', '']],
      ['/a', ['/a', '']],
      ['/a/b/c', ['/a/b/c', '']],
      ['/a/', ['/a/', ''], 'trailing slash kept'],
      ['/a-b_c~d/e.f', ['/a-b_c~d/e.f', '']],
      ['/a..b', ['/a..b', ''], 'dots inside a segment'],
      ['/a/b..', ['/a/b..', '']],
      ['/a/.hidden', ['/a/.hidden', ''], 'dot-prefixed name is not a dot segment'],
      ['/a/...', ['/a/...', ''], 'three dots is a name'],
    ])
  })

  t.test('dot segments removed (RFC 3986 §5.2.4)', async (t) => {
    check(t, [
      ['/a/./b', ['/a/b', '']],
      ['/a/../b', ['/b', '']],
      ['/public/../admin/x', ['/admin/x', '']],
      ['/a/b/c/./../../g', ['/a/g', ''], 'RFC 3986 §5.2.4 example'],
      ['/mid/content=5/../6', ['/mid/6', ''], 'RFC 3986 §5.2.4 example'],
      ['/../a', ['/a', ''], 'cannot climb above the root'],
      ['/../../../../etc/passwd', ['/etc/passwd', '']],
      ['/..', ['/', '']],
      ['/.', ['/', '']],
      ['/a/..', ['/', '']],
      ['/a/b/..', ['/a/', ''], 'trailing .. leaves a directory'],
      ['/a/b/.', ['/a/b/', ''], 'trailing . leaves a directory'],
      ['/a/./', ['/a/', '']],
      ['/a/../', ['/', '']],
      ['/./././a', ['/a', '']],
    ])
  })

  t.test('repeated slashes merged', async (t) => {
    check(t, [
      ['//a', ['/a', '']],
      ['/a//b', ['/a/b', '']],
      ['/a///b////c', ['/a/b/c', '']],
      ['/a//', ['/a/', '']],
      ['//', ['/', '']],
      ['//../admin', ['/admin', '']],
      ['/public//..//admin', ['/admin', '']],
    ])
  })

  t.test('percent-encoded dot segments refused', async (t) => {
    check(t, [
      ['/%2e%2e/admin', undefined],
      ['/public/%2e%2e/admin', undefined],
      ['/public/%2E%2E/admin', undefined],
      ['/a/.%2E/b', undefined],
      ['/a/.%2e/b', undefined],
      ['/a/%2e./b', undefined],
      ['/a/%2e/b', undefined],
      ['/a/%2E', undefined],
      ['/a/%2e%2e', undefined, 'as last segment'],
    ])
  })

  t.test('encoded separators and backslashes refused', async (t) => {
    check(t, [
      ['/a%2fb', undefined],
      ['/a%2Fb', undefined],
      ['/a/..%2f..%2fadmin', undefined],
      ['/a%5cb', undefined],
      ['/a%5Cb', undefined],
      ['/a\\b', undefined],
      ['/a\\..\\admin', undefined],
    ])
  })

  t.test('encoded unreserved characters are decoded: routed and sent as the characters (RFC 3986 §6.2.2.2)', async (t) => {
    check(t, [
      ['/%70ayment', ['/payment', ''], 'an encoded letter cannot slip past a prefix'],
      ['/%70ayment/x?q=%70', ['/payment/x', '?q=%70'], 'the query is left as it came'],
      ['/file%2etxt', ['/file.txt', ''], 'encoded dot inside a name'],
      ['/a/%2e%2e%2e', ['/a/...', ''], 'three encoded dots is a name'],
      ['/a/%2efoo', ['/a/.foo', '']],
      ['/%41%42', ['/AB', '']],
      ['/%61%7A%5A%30%39', ['/azZ09', ''], 'both hex cases, the ends of each range'],
      ['/%2D%2e%5f%7E', ['/-._~', '']],
      ['/a/%41/../b', ['/a/b', ''], 'decoded, then the dot segment after it applied'],
      ['/a;%70', ['/a;p', '']],
    ])
  })

  t.test('other percent-encoding is kept as sent', async (t) => {
    check(t, [
      ['/caf%C3%A9', ['/caf%C3%A9', '']],
      ['/a%20b/../c', ['/c', '']],
      ['/x/%25', ['/x/%25', '']],
      ['/x/%2541', ['/x/%2541', ''], 'decoded once: an encoded % stays encoded'],
      ['/%40%3A%21%2B%60%7B%7C%7D%5B%5D%2C', ['/%40%3A%21%2B%60%7B%7C%7D%5B%5D%2C', ''], 'the bytes around each unreserved range'],
      ['/%80%FF', ['/%80%FF', '']],
    ])
  })

  t.test('invalid percent-encoding refused', async (t) => {
    check(t, [
      ['/%zz', undefined],
      ['/a/%zz/b', undefined],
      ['/%2', undefined],
      ['/a%', undefined],
      ['/%g0', undefined],
      ['/%%41', undefined],
    ])
  })

  t.test('query preserved exactly, fragment dropped', async (t) => {
    check(t, [
      ['/a?x=1', ['/a', '?x=1']],
      ['/a/../b?x=1&y=2', ['/b', '?x=1&y=2']],
      ['/a?', ['/a', '?']],
      ['/a?x=/../..&y=%zz&z=%2f', ['/a', '?x=/../..&y=%zz&z=%2f'], 'the query is not normalised or checked'],
      ['/a?x=1?y=2', ['/a', '?x=1?y=2']],
      ['/a#frag', ['/a', '']],
      ['/a?x=1#frag', ['/a', '?x=1']],
      ['/a#f?x=1', ['/a', ''], 'a ? after # is fragment'],
      ['//a//b?q#f', ['/a/b', '?q']],
    ])
  })

  t.test('absolute-form', async (t) => {
    check(t, [
      ['http://h/a/b?x', ['/a/b', '?x']],
      ['http://h/a/b', ['/a/b', '']],
      ['https://h:8443/a', ['/a', '']],
      ['HTTP://H/a', ['/a', ''], 'scheme is case-insensitive'],
      ['http://h', ['/', '']],
      ['http://h?x=1', ['/', '?x=1']],
      ['http://h/a#frag', ['/a', '']],
      ['http://h/a//b', ['/a/b', '']],
      ['http://h/a/../b', ['/b', '']],
      ['http://h/a%2fb', undefined],
      ['http://h/%zz', undefined],
    ])
  })

  t.test('absolute-form is held to the same rules as origin-form', async (t) => {
    // The WHATWG URL parser resolves '%2e%2e' and '\' itself; the origin-form spelling of the same
    // target is refused, so the absolute-form one should be too (see the report).
    check(t, [
      ['http://h/public/%2e%2e/admin', undefined, 'encoded dot segment'],
      ['http://h/public/.%2E/admin', undefined, 'encoded dot segment'],
      ['http://h/public\\..\\admin', undefined, 'backslash'],
    ])
  })

  t.test('targets that are not routable are refused', async (t) => {
    check(t, [
      ['*', undefined, 'asterisk-form'],
      ['', undefined],
      ['a/b', undefined, 'relative'],
      ['example.com:443', undefined, 'authority-form'],
      ['ftp://h/a', undefined],
      ['ws://h/a', undefined],
      ['http://', undefined, 'unparseable'],
      ['http:/a', undefined],
    ])
  })

  // Only an encoded letter, digit or one of -._~ is decoded (RFC 3986 §2.3, §6.2.2.2); any other escape means something
  // other than its raw character (RFC 3986 §2.2, §2.4) and is forwarded as sent. '%5E' ('^') sits right after '%5F'
  // ('_', unreserved) and '%5A' ('Z'): were it decoded, '/a%5Eb' would reach the upstream as '/a^b', a byte a client
  // did not send raw (and one RFC 3986 does not allow raw in a path), and a route written '/a%5Eb' could never match.
  // Pins the `5f` alternative of src/routing/path.ts ENCODED_UNRESERVED against widening to its neighbours.
  t.test("'%5E' and '%5E's neighbours outside the unreserved set stay encoded", async (t) => {
    t.strictSame(normaliseRequestTarget('/a%5Eb/%5e'), { path: '/a%5Eb/%5E', query: '' }, "'%5E' is kept (in upper case)")
    t.strictSame(normaliseRequestTarget('/a%5Fb'), { path: '/a_b', query: '' }, "'%5F' ('_') is decoded")
    t.equal(routePathProblem('/a%5Eb'), undefined, "a route written '/a%5Eb' is accepted: requests for it are routed so")
  })
})

// A route's id (its label when unnamed: metrics, the admin API, and the key that carries a canary's state across a
// reload) is the same however the route spells its methods, host and headers.
t.test('routing-route-id', async (t) => {
  const base = { path: '/api/', pool: 'p', stripPrefix: false }

  t.test('methods in any order, repeated or not, give one id', async (t) => {
    const ids = [['GET', 'POST'], ['POST', 'GET'], ['POST', 'GET', 'POST']].map((methods) => routeIdOf({ ...base, methods }))
    t.equal(new Set(ids).size, 1)
  })

  t.test('a host in any case, with or without its trailing root dot, gives one id', async (t) => {
    const ids = ['api.example.com', 'API.Example.COM', 'api.example.com.'].map((host) => routeIdOf({ ...base, host }))
    t.equal(new Set(ids).size, 1)
  })

  t.test('headers in any order and name case give one id', async (t) => {
    const spellings: Array<Record<string, string>> = [{ 'X-A': '1', 'x-b': '2' }, { 'x-b': '2', 'x-a': '1' }]
    const ids = spellings.map((headers) => routeIdOf({ ...base, headers }))
    t.equal(new Set(ids).size, 1)
  })

  t.test('what does narrow a route still tells ids apart', async (t) => {
    const ids = [
      routeIdOf(base),
      routeIdOf({ ...base, methods: ['GET'] }),
      routeIdOf({ ...base, host: 'a.example' }),
      routeIdOf({ ...base, headers: { 'x-a': '1' } }),
      routeIdOf({ ...base, headers: { 'x-a': '2' } }),
      routeIdOf({ ...base, path: '/other' }),
    ]
    t.equal(new Set(ids).size, ids.length)
  })

  t.test("the table's routes carry that id, and it labels unnamed routes", async (t) => {
    const a = new RoutingTable([{ ...base, methods: ['POST', 'GET'], host: 'API.example.com' }, { ...base, path: '/n', name: 'named' }])
    const b = new RoutingTable([{ ...base, methods: ['GET', 'POST'], host: 'api.example.com' }, { ...base, path: '/n', name: 'named' }])
    t.strictSame(a.routes.map((r) => r.id), b.routes.map((r) => r.id))
    t.strictSame(a.routes.map((r) => r.label), b.routes.map((r) => r.label))
    t.equal(a.routes.find((r) => r.prefix === '/n')!.label, 'named', 'a name still wins')
  })

  // A route's id names its methods in upper case (src/routing/table.ts routeIdOf: "methods sorted and deduplicated"),
  // so a route written with `methods: ['get']` and one with `['GET']` at the same path are recognised as one route: the
  // config check computes ids from the raw config (src/config/validate.ts routeKeyOf, before the schema refuses 'get')
  // and reports the duplicate in the same pass as the spelling, and an id never differs by the case a method was typed in.
  // Pins the `.toUpperCase()` of routeIdOf.
  t.test('route ids name methods in upper case, once each', async (t) => {
    t.equal(routeIdOf({ path: '/a', methods: ['get', 'Post'] }), routeIdOf({ path: '/a', methods: ['POST', 'GET'] }), 'case and order of the methods do not matter')
    t.equal(routeIdOf({ path: '/a', methods: ['get', 'GET'] }), '*/a [GET]', "'get' and 'GET' are one method")
  })
})

// A route whose path no request can ever carry after normalisation is dead config: the operator expects the config
// check (`npm run check`, and a reload) to refuse it with a reason, as nginx -t does, rather than load a route that
// silently never matches. Requests are normalised before routing (no '.', '..' or empty segments, printable ASCII
// only, everything else percent-encoded), so a route path with a '.' segment or a raw space can never match.
// Pins src/routing/path.ts routePathProblem: the printable-ASCII range `[\x21-\x7e]` (line 97) and the
// dot-segment pattern `\/\.\.?(\/|$)` (line 100), and escapes spelled as requests are routed, with the rest of its
// contract around them.
t.test('routing-route-path-problem', async (t) => {
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
})


t.test('routing-table', async (t) => {
  function route (path: string, pool: string, extra: { host?: string; methods?: HttpMethod[]; stripPrefix?: boolean } = {}): RouteConfig {
    return { path, pool, stripPrefix: extra.stripPrefix ?? false, ...(extra.host ? { host: extra.host } : {}), ...(extra.methods ? { methods: extra.methods } : {}) }
  }

  /** [path, method, host, expected pool or undefined, expected upstream path?] */
  type Case = [path: string, method: string, host: string | undefined, pool: string | undefined, upstream?: string]

  function check (t: Test, table: RoutingTable, cases: readonly Case[]): void {
    for (const [path, method, host, pool, upstream] of cases) {
      const m = table.match(path, method, host)
      const label = `${method} ${host ?? '(no host)'} ${path}`
      if (pool === undefined) {
        t.equal(m, undefined, `${label} → no route`)
        continue
      }
      t.equal(m?.route.pool, pool, `${label} → ${pool}`)
      if (upstream !== undefined) t.equal(m?.upstreamPath, upstream, `${label} forwards ${upstream}`)
    }
  }


  t.test('prefixes match on segment boundaries only', async (t) => {
    const table = new RoutingTable([route('/payment', 'pay')])
    check(t, table, [
      ['/payment', 'GET', undefined, 'pay', '/payment'],
      ['/payment/', 'GET', undefined, 'pay', '/payment/'],
      ['/payment/x', 'GET', undefined, 'pay', '/payment/x'],
      ['/payment/x/y/', 'GET', undefined, 'pay', '/payment/x/y/'],
      ['/paymentX', 'GET', undefined, undefined],
      ['/payments', 'GET', undefined, undefined],
      ['/paymentx/y', 'GET', undefined, undefined],
      ['/pay', 'GET', undefined, undefined],
      ['/pay/ment', 'GET', undefined, undefined],
      ['/', 'GET', undefined, undefined],
      ['/other/payment', 'GET', undefined, undefined],
    ])
  })

  t.test('longest prefix wins, whatever the order routes are listed in', async (t) => {
    const routes = [route('/', 'root'), route('/api', 'api'), route('/api/v1', 'v1'), route('/api/v1/users', 'users'), route('/api/v2/', 'v2')]
    const cases: Case[] = [
      ['/', 'GET', undefined, 'root'],
      ['/x', 'GET', undefined, 'root'],
      ['/apix', 'GET', undefined, 'root'],
      ['/api', 'GET', undefined, 'api'],
      ['/api/', 'GET', undefined, 'api'],
      ['/api/v3', 'GET', undefined, 'api'],
      ['/api/v1', 'GET', undefined, 'v1'],
      ['/api/v1/orders/9', 'GET', undefined, 'v1'],
      ['/api/v1/users', 'GET', undefined, 'users'],
      ['/api/v1/users/42', 'GET', undefined, 'users'],
      ['/api/v1/usersX', 'GET', undefined, 'v1'],
      ['/api/v2', 'GET', undefined, 'v2', '/api/v2'],
      ['/api/v2/x', 'GET', undefined, 'v2'],
    ]
    check(t, new RoutingTable(routes), cases)
    check(t, new RoutingTable([...routes].reverse()), cases)
  })

  t.test('root route catches everything', async (t) => {
    check(t, new RoutingTable([route('/', 'root')]), [
      ['/', 'GET', undefined, 'root', '/'],
      ['/a', 'POST', 'x.com', 'root', '/a'],
      ['/a/b/c/', 'GET', undefined, 'root', '/a/b/c/'],
    ])
  })

  t.test('host narrows a route: case-insensitive, port ignored, IPv6 brackets', async (t) => {
    const table = new RoutingTable([
      route('/x', 'example', { host: 'Example.COM' }),
      route('/x', 'loopback6', { host: '[::1]' }),
      route('/x', 'any'),
      route('/only', 'only', { host: 'only.example' }),
    ])
    check(t, table, [
      ['/x', 'GET', 'example.com', 'example'],
      ['/x', 'GET', 'EXAMPLE.com', 'example'],
      ['/x', 'GET', 'example.com:8080', 'example'],
      ['/x/y', 'GET', 'Example.Com:443', 'example'],
      ['/x', 'GET', '[::1]', 'loopback6'],
      ['/x', 'GET', '[::1]:8080', 'loopback6'],
      ['/x', 'GET', '[::2]:8080', 'any'],
      ['/x', 'GET', 'other.com', 'any'],
      ['/x', 'GET', 'example.com.evil', 'any'],
      ['/x', 'GET', 'sub.example.com', 'any'],
      ['/x', 'GET', undefined, 'any', '/x'],
      ['/only', 'GET', 'only.example', 'only'],
      ['/only', 'GET', 'ONLY.EXAMPLE:80', 'only'],
      ['/only', 'GET', 'other', undefined],
      ['/only', 'GET', undefined, undefined],
    ])
  })

  t.test('a host-bound route that does not match falls back to a shorter prefix', async (t) => {
    const table = new RoutingTable([route('/api/v1', 'tenant', { host: 'a.com' }), route('/api', 'shared')])
    check(t, table, [
      ['/api/v1/x', 'GET', 'a.com', 'tenant'],
      ['/api/v1/x', 'GET', 'b.com', 'shared'],
      ['/api/v1/x', 'GET', undefined, 'shared'],
    ])
    // the host's own routes are tried first at every depth (nginx's server_name, Envoy's virtual host): a longer
    // any-host prefix takes only the requests none of them matches
    const longerAnyHost = new RoutingTable([route('/api', 'tenant', { host: 'a.com' }), route('/api/v1', 'v1')])
    check(t, longerAnyHost, [
      ['/api/v1/x', 'GET', 'a.com', 'tenant'],
      ['/api/x', 'GET', 'a.com', 'tenant'],
      ['/api/v1/x', 'GET', 'b.com', 'v1'],
      ['/other', 'GET', 'a.com', undefined],
    ])
  })

  t.test('methods narrow a route', async (t) => {
    const table = new RoutingTable([
      route('/x', 'writes', { methods: ['POST', 'PUT'] }),
      route('/x', 'reads', { methods: ['GET', 'HEAD'] }),
      route('/x', 'any'),
      route('/y', 'yget', { methods: ['GET'] }),
      route('/', 'root'),
    ])
    check(t, table, [
      ['/x', 'POST', undefined, 'writes'],
      ['/x/1', 'PUT', undefined, 'writes'],
      ['/x', 'GET', undefined, 'reads'],
      ['/x', 'HEAD', undefined, 'reads'],
      ['/x', 'DELETE', undefined, 'any'],
      ['/x', 'OPTIONS', undefined, 'any'],
      ['/y', 'GET', undefined, 'yget'],
      ['/y', 'POST', undefined, 'root', '/y'], // no method match at /y → shorter prefix
    ])
  })

  t.test('the most specific route of one prefix wins: host+method > host > method > any', async (t) => {
    const routes = [
      route('/s', 'any'),
      route('/s', 'method', { methods: ['GET'] }),
      route('/s', 'host', { host: 'h.com' }),
      route('/s', 'host+method', { host: 'h.com', methods: ['GET'] }),
    ]
    const cases: Case[] = [
      ['/s', 'GET', 'h.com', 'host+method'],
      ['/s', 'POST', 'h.com', 'host'],
      ['/s', 'GET', 'x.com', 'method'],
      ['/s', 'POST', 'x.com', 'any'],
    ]
    check(t, new RoutingTable(routes), cases)
    check(t, new RoutingTable([...routes].reverse()), cases)
  })

  t.test('stripPrefix', async (t) => {
    const table = new RoutingTable([
      route('/payment', 'pay', { stripPrefix: true }),
      route('/api/v1/', 'v1', { stripPrefix: true }),
      route('/keep', 'keep'),
      route('/', 'root', { stripPrefix: true }),
    ])
    check(t, table, [
      ['/payment/x', 'GET', undefined, 'pay', '/x'],
      ['/payment/x/y', 'GET', undefined, 'pay', '/x/y'],
      ['/payment/x/', 'GET', undefined, 'pay', '/x/'],
      ['/payment', 'GET', undefined, 'pay', '/'],
      ['/payment/', 'GET', undefined, 'pay', '/'],
      ['/api/v1', 'GET', undefined, 'v1', '/'],
      ['/api/v1/users', 'GET', undefined, 'v1', '/users'],
      ['/keep/x', 'GET', undefined, 'keep', '/keep/x'],
      ['/other/x', 'GET', undefined, 'root', '/other/x'], // stripping '/' changes nothing
      ['/', 'GET', undefined, 'root', '/'],
    ])
  })

  t.test('route facts', async (t) => {
    const table = new RoutingTable([route('/a/', 'p', { host: 'H.com', methods: ['GET'], stripPrefix: true }), route('/b', 'q')])
    t.equal(table.size, 2)
    const m = table.match('/a/x', 'GET', 'h.com')!
    t.equal(m.route.prefix, '/a', 'trailing slash dropped from the prefix')
    t.equal(m.route.host, 'h.com', 'host lower-cased')
    t.ok(m.route.methods?.has('GET'))
    t.equal(m.route.stripPrefix, true)
    t.equal(typeof m.route.id, 'string')
    t.not(table.match('/b', 'GET', undefined)!.route.id, m.route.id, 'routes have distinct ids')
    t.equal(new RoutingTable([]).match('/', 'GET', undefined), undefined, 'an empty table matches nothing')
  })

  t.test('10,000 routes still match correctly', async (t) => {
    const routes: RouteConfig[] = []
    for (let i = 0; i < 10_000; i++) {
      routes.push(route(`/svc${i}`, `pool${i}`))
      if (i % 10 === 0) routes.push(route(`/svc${i}/admin`, `admin${i}`, { stripPrefix: true }))
    }
    const table = new RoutingTable(routes)
    t.equal(table.size, 11_000)
    let wrong = 0
    for (let i = 0; i < 10_000; i++) {
      const deep = table.match(`/svc${i}/a/b/c`, 'GET', 'h')
      if (deep?.route.pool !== `pool${i}` || deep.upstreamPath !== `/svc${i}/a/b/c`) wrong++
      if (table.match(`/svc${i}`, 'GET', undefined)?.route.pool !== `pool${i}`) wrong++
      if (table.match(`/svc${i}x`, 'GET', undefined) !== undefined) wrong++
      if (i % 10 === 0) {
        const admin = table.match(`/svc${i}/admin/users`, 'GET', undefined)
        if (admin?.route.pool !== `admin${i}` || admin.upstreamPath !== '/users') wrong++
      }
    }
    t.equal(wrong, 0, 'every lookup answered correctly')
    t.equal(table.match('/svc10000', 'GET', undefined), undefined)
    t.equal(table.match('/nothing/svc1', 'GET', undefined), undefined)
  })
})
