// A target named fully qualified, with its root dot ('api.example.com.': the usual way to skip the resolver's search
// list under Kubernetes' ndots:5), is sent without the dot: as the Host a pool with preserveHost false sends, and as
// its TLS name (RFC 6066 §3: SNI "without a trailing dot"), whether the name is a fixed target's or a discovered
// one's. Upstream virtual hosts and certificates name the host without it (Envoy: strip_trailing_host_dot).
// (src/upstream/target.ts, the constructor: withoutRootDot.) The pool's tls.servername, when set, is the TLS name
// whatever name an address was discovered by (docs: tls.servername names what the certificates are checked against).
import t from 'tap'
import { validateConfig } from '../../src/config/validate.ts'
import { Target } from '../../src/upstream/target.ts'

const cases: Array<[url: string, discoveredAs: string | undefined, host: string, servername: string | undefined]> = [
  ['https://api.example.com.:8443', undefined, 'api.example.com:8443', 'api.example.com'],
  ['https://api.example.com.', undefined, 'api.example.com', 'api.example.com'],
  ['http://api.example.com.:8080', undefined, 'api.example.com:8080', undefined],
  ['https://api.example.com:8443', undefined, 'api.example.com:8443', 'api.example.com'],
  ['https://10.0.0.7:8443', 'api.example.com.', 'api.example.com:8443', 'api.example.com'],
  ['http://10.0.0.7', 'api.example.com.', 'api.example.com', undefined],
  ['http://[::1]:8080', undefined, '[::1]:8080', undefined],
  ['https://10.0.0.7:8443', undefined, '10.0.0.7:8443', '10.0.0.7'],
]

for (const [url, discoveredAs, host, servername] of cases) {
  t.test(`${url}${discoveredAs === undefined ? '' : ` (discovered as ${discoveredAs})`}: Host ${host}`, async (t) => {
    const config = validateConfig({ pools: { p: { preserveHost: false, targets: [url] } }, routes: [{ path: '/', pool: 'p' }] })
    const pool = config.pools.p!
    const target = new Target(pool.targets[0]!, pool, discoveredAs)
    t.teardown(() => target.close())
    t.equal(target.host, host, 'Host')
    t.equal(target.servername, servername, 'the TLS name')
  })
}

t.test('a discovered address: the pool\'s tls.servername comes before the DNS name it was found by', async (t) => {
  const config = validateConfig({ pools: { p: { targets: ['https://10.0.0.7:8443'], tls: { servername: 'cert.example.com' } } }, routes: [{ path: '/', pool: 'p' }] })
  const pool = config.pools.p!
  const target = new Target(pool.targets[0]!, pool, 'api.example.com')
  t.teardown(() => target.close())
  t.equal(target.servername, 'cert.example.com', 'the TLS name')
  t.equal(target.host, 'api.example.com:8443', 'the Host stays the discovered name')
})
