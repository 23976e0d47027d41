// server.host and admin.host are what listen() binds: an IP address (IPv6 without brackets) or a host name. Anything
// else passed `check` and failed only at start.
import t from 'tap'
import { baseConfig, problemsOf } from './problems.ts'

const withHosts = (server: string, admin: string): Record<string, unknown> => baseConfig({ server: { host: server }, admin: { host: admin } })

t.test('IPs and host names are accepted', async (t) => {
  for (const host of ['0.0.0.0', '127.0.0.1', '::', '::1', 'localhost', 'gateway.internal', '']) {
    t.strictSame(problemsOf(withHosts(host, '127.0.0.2')), [], `server.host '${host}'`)
  }
})

t.test('anything else is refused, at the field', async (t) => {
  for (const host of ['my host', 'http://0.0.0.0', '0.0.0.0:8080', 'a..b']) {
    const problems = problemsOf(withHosts(host, `${host}x`))
    t.ok(problems.some((p) => p.startsWith('server.host: ')), `server.host '${host}'`)
    t.ok(problems.some((p) => p.startsWith('admin.host: ')), `admin.host '${host}x'`)
  }
  t.match(problemsOf(withHosts('[::1]', '127.0.0.1')).join('\n'), /server\.host: .*'::1'/, 'brackets: the address as listen() takes it')
})
