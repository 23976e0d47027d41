// npm run corpus:peers (not in CI): the hostile-request corpus of test/reliability/corpus.ts against Switchyard,
// HAProxy and nginx from Debian (installed when missing), each a reverse proxy in front of the same counting
// upstreams with the same routes and limits; writes the side-by-side table into docs/reliability.md.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { startProcess, waitForListening } from '../bench/children.ts'
import { nginxHead } from '../bench/nginx.ts'
import { freePort } from '../bench/origin-answer.ts'
import { ensureDebianBinary, versionOf } from '../bench/tools.ts'
import { CountingUpstream } from '../test/helpers/counting-upstream.ts'
import { startGateway } from '../test/helpers/gateway.ts'
import { HOSTILE_CASES, type HostileCase, type Reached } from '../test/reliability/corpus.ts'
import { converse } from '../test/reliability/wire.ts'

const DOC = new URL('../docs/reliability.md', import.meta.url)
const BEGIN = '<!-- corpus-peers:begin -->'
const END = '<!-- corpus-peers:end -->'
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

interface Proxy { name: string; version: string; port: number; stop (): Promise<void> }

interface Outcome {
  status: number
  closed: boolean
  reached: Reached[]
}

function nginxConfig (dir: string, port: number, payment: number, other: number): string {
  const pass = (pool: string): string => `proxy_pass http://${pool}; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $http_host;`
  return `${nginxHead(dir, { connections: 1024, errorLog: 'warn' })}  # request line and each header line within 1 KiB (the corpus's maxUrlBytes); more is 414 / 400
  client_header_buffer_size 1k;
  large_client_header_buffers 4 1k;
  upstream payment { server 127.0.0.1:${payment}; keepalive 1; }
  upstream other { server 127.0.0.1:${other}; keepalive 1; }
  server {
    listen 127.0.0.1:${port};
    location = /payment { ${pass('payment')} }
    location /payment/ { ${pass('payment')} }
    location = /upload { client_max_body_size 100; ${pass('other')} }
    location /upload/ { client_max_body_size 100; ${pass('other')} }
    location / { ${pass('other')} }
  }
}
`
}

function haproxyConfig (port: number, payment: number, other: number): string {
  return `global
  maxconn 1000
  # request line and headers within 4 KiB (the corpus's maxHeaderBytes)
  tune.bufsize 5120
  tune.maxrewrite 1024
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
  timeout http-request 5s
frontend corpus
  bind 127.0.0.1:${port}
  acl payment path /payment
  acl payment path_beg /payment/
  acl upload path /upload
  acl upload path_beg /upload/
  http-request return status 414 if { url_len gt 1024 }
  http-request wait-for-body time 1s if upload
  http-request deny deny_status 413 if upload { req.body_size gt 100 }
  use_backend payment if payment
  default_backend other
backend payment
  server s1 127.0.0.1:${payment}
backend other
  server s1 127.0.0.1:${other}
`
}

function stopChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

async function startNginx (binary: string, payment: number, other: number): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-nginx-'))
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, payment, other))
  const child = startProcess(binary, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')])
  await waitForListening(port, child, 'nginx')
  return { name: 'nginx', version: versionOf(binary, ['-v']).replace(/^nginx version: nginx\//, ''), port, stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }) } }
}

async function startHaproxy (binary: string, payment: number, other: number): Promise<Proxy> {
  const dir = mkdtempSync(join(tmpdir(), 'corpus-haproxy-'))
  const port = await freePort()
  writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, payment, other))
  const child = startProcess(binary, ['-db', '-f', join(dir, 'haproxy.cfg')])
  await waitForListening(port, child, 'haproxy')
  const version = /version (\S+)/.exec(versionOf(binary, ['-v']))?.[1] ?? 'unknown'
  return { name: 'HAProxy', version, port, stop: async () => { await stopChild(child); rmSync(dir, { recursive: true, force: true }) } }
}

async function run (proxy: Proxy, c: HostileCase, upstreams: Record<'payment' | 'other', CountingUpstream>): Promise<Outcome> {
  upstreams.payment.reset()
  upstreams.other.reset()
  const conversation = await converse(proxy.port, c.bytes, { responses: c.expect.reaches.length || 1, waitForClose: c.expect.closes === true, timeoutMs: 1500 })
  // peers keep several upstream connections: give a smuggled request time to arrive
  await sleep(150)
  const reached: Reached[] = [
    ...upstreams.payment.requests.map((r) => ({ upstream: 'payment' as const, url: r.url })),
    ...upstreams.other.requests.map((r) => ({ upstream: 'other' as const, url: r.url })),
  ]
  return { status: conversation.responses[0]?.status ?? 0, closed: conversation.closed, reached }
}

function cell (o: Outcome): string {
  const status = o.status === 0 ? 'closed, no answer' : String(o.status)
  const reached = o.reached.length === 0 ? '' : ` → ${o.reached.map((r) => `${r.upstream} \`${r.url.length > 40 ? `${r.url.slice(0, 37)}…` : r.url}\``).join(', ')}`
  const smuggled = o.reached.some((r) => r.url.includes('smuggled')) ? ' **SMUGGLED**' : ''
  return `${status}${reached}${smuggled}`
}

const isError = (status: number): boolean => status === 0 || status >= 400

async function main (): Promise<void> {
  const nginxBinary = ensureDebianBinary('nginx', 'nginx-light', log) ?? ensureDebianBinary('nginx', 'nginx', log)
  const haproxyBinary = ensureDebianBinary('haproxy', 'haproxy', log)
  const payment = await CountingUpstream.start()
  const other = await CountingUpstream.start()
  const upstreams = { payment, other }
  const pool = (url: string) => ({ targets: [url], connections: { maxPerTarget: 1 }, retry: { attempts: 1 } })
  const gw = await startGateway({
    log: { level: 'silent' },
    server: { maxUrlBytes: 1024, maxHeaderBytes: 4096 },
    pools: { payment: pool(payment.url), other: pool(other.url) },
    routes: [{ path: '/payment', pool: 'payment' }, { path: '/upload', pool: 'other', maxBodyBytes: 100 }, { path: '/', pool: 'other' }],
  }, { defaultMetrics: false })
  const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  const proxies: Proxy[] = [{ name: 'Switchyard', version, port: Number(new URL(gw.url).port), stop: () => gw.close() }]
  try {
    if (haproxyBinary !== undefined) proxies.push(await startHaproxy(haproxyBinary, payment.port, other.port))
    if (nginxBinary !== undefined) proxies.push(await startNginx(nginxBinary, payment.port, other.port))
    const rows: string[] = []
    const stricter: string[] = []
    for (const c of HOSTILE_CASES) {
      const outcomes: Outcome[] = []
      for (const proxy of proxies) outcomes.push(await run(proxy, c, upstreams))
      const ours = outcomes[0]!
      const peersStricter = proxies.slice(1).filter((_, i) => isError(outcomes[i + 1]!.status) && !isError(ours.status))
      if (peersStricter.length > 0) stricter.push(`${c.name} (${peersStricter.map((p) => p.name).join(', ')})`)
      const byName = new Map(proxies.map((p, i) => [p.name, outcomes[i]!]))
      const col = (name: string): string => (byName.has(name) ? cell(byName.get(name)!) : 'not run')
      rows.push(`| ${c.name.replaceAll('|', '\\|')} | ${c.rfc} | ${col('Switchyard')} | ${col('HAProxy')} | ${col('nginx')} |`)
      log(`${c.name}: ${outcomes.map((o, i) => `${proxies[i]!.name} ${o.status}`).join(', ')}`)
    }
    const versions = proxies.map((p) => `${p.name} ${p.version}`).join(', ')
    const table = [
      BEGIN,
      `Generated by \`npm run corpus:peers\` (${versions}; ${new Date().toISOString().slice(0, 10)}). A cell is the first status (\`closed, no answer\`: the connection was closed without one) and every request the upstreams parsed (\`upstream \\\`path\\\`\`); **SMUGGLED** would mark a request hidden in another reaching an upstream.`,
      '',
      '| case | RFC | Switchyard | HAProxy | nginx |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
      '',
      stricter.length === 0 ? 'No peer refused a case Switchyard forwarded.' : `Cases a peer refused and Switchyard forwarded: ${stricter.join('; ')}. Each is discussed above the table.`,
      END,
    ].join('\n')
    const doc = readFileSync(DOC, 'utf8')
    const start = doc.indexOf(BEGIN)
    const end = doc.indexOf(END)
    if (start === -1 || end === -1) throw new Error(`${DOC.pathname}: markers ${BEGIN} … ${END} not found`)
    writeFileSync(DOC, doc.slice(0, start) + table + doc.slice(end + END.length))
    log(`wrote ${rows.length} rows to ${DOC.pathname}`)
  } finally {
    for (const proxy of proxies) await proxy.stop()
    await payment.close()
    await other.close()
  }
}

await main()
