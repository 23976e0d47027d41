// HAProxy or nginx from Debian in the gateway's place for `npm run stress:slow -- --peer haproxy|nginx`: the same
// slow-client mix against a trusted proxy, set up as the gateway is (one process on CPU 0, streaming both ways,
// the same timeouts), so a failing run shows whether it is the gateway's doing or the machine's.
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProcess, stopProcess, waitForListening } from '../../bench/children.ts'
import { nginxHead } from '../../bench/nginx.ts'
import { freePort } from '../../bench/origin-answer.ts'
import { ensureDebianBinary, versionOf } from '../../bench/tools.ts'
import { GATEWAY_CPU, pin } from './pin.ts'
import { processFds, processRssMiB } from './stats.ts'

export const PEERS = ['haproxy', 'nginx'] as const
export type Peer = typeof PEERS[number]

/** What the slow-client harness reads of the proxy under test; the gateway's child has it too. */
export interface StressProxy {
  readonly pid: number
  readonly pinned: boolean
  readonly port: number
  fds (): number
  rssMiB (): number
  /** The proxy's event-loop delay since the last call; NaN for a peer (no event loop to ask). */
  loopDelay (): Promise<{ p99Ms: number; maxMs: number }>
  /**
   * When the connections since the last call were accepted (machine clock, ms, ascending), by the client's port;
   * only the gateway can say (a peer has no such hook).
   */
  acceptedAt?: () => Promise<Map<number, number[]>>
  stop (): Promise<void>
}

export interface PeerTimeouts {
  /** A request's headers must have arrived within this (slowloris, idle connections). */
  headersMs: number
  /** A request's body: Switchyard's whole-request limit; the peers' nearest equivalents (see below). */
  requestMs: number
  /** A client that reads nothing of its response for this long is cut. */
  idleMs: number
}

function haproxyConfig (port: number, upstream: URL, t: PeerTimeouts): string {
  // HAProxy reserves two descriptors per connection up front: this stays under a hard limit of 20,000
  return `global
  maxconn 9000
  nbthread 1
defaults
  mode http
  timeout connect 2s
  # inactivity on the client's side, either way: a reader that takes nothing, a body that stops
  timeout client ${t.idleMs}ms
  timeout server 60s
  # the request's headers (a connection that sends none is closed after it too)
  timeout http-request ${t.headersMs}ms
  timeout http-keep-alive ${t.headersMs}ms
frontend stress
  bind 127.0.0.1:${port}
  maxconn 9000
  default_backend upstream
backend upstream
  http-reuse always
  server s1 ${upstream.host} maxconn 1024
`
}

function nginxConfig (dir: string, port: number, upstream: URL, t: PeerTimeouts): string {
  return `${nginxHead(dir, { connections: 9000, errorLog: 'crit', fileLimit: 19000 })}  client_header_timeout ${t.headersMs}ms;
  # between two reads of the body (nginx has no whole-request limit)
  client_body_timeout ${t.requestMs}ms;
  # between two writes that made progress: a reader that takes nothing is cut after it
  send_timeout ${t.idleMs}ms;
  keepalive_timeout ${t.headersMs}ms;
  upstream app { server ${upstream.host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      # stream both ways as the gateway does (buffered, nginx would spool a 256 MiB answer to disk)
      proxy_buffering off;
      proxy_request_buffering off;
      client_max_body_size 10m;
    }
  }
}
`
}

/** Starts the peer on CPU 0 in front of `upstreamUrl`; its version goes into `describe`. */
export async function startPeer (peer: Peer, upstreamUrl: string, timeouts: PeerTimeouts, log: (line: string) => void): Promise<StressProxy & { describe: string }> {
  const binary = peer === 'nginx' ? ensureDebianBinary('nginx', 'nginx-light', log) ?? ensureDebianBinary('nginx', 'nginx', log) : ensureDebianBinary('haproxy', 'haproxy', log)
  if (binary === undefined) throw new Error(`${peer} is not installed and could not be`)
  const dir = mkdtempSync(join(tmpdir(), `stress-${peer}-`))
  const port = await freePort()
  const upstream = new URL(upstreamUrl)
  let child: ChildProcess
  let describe: string
  if (peer === 'nginx') {
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, port, upstream, timeouts))
    child = startProcess(binary, ['-e', join(dir, 'error.log'), '-p', dir, '-c', join(dir, 'nginx.conf')])
    describe = `nginx ${versionOf(binary, ['-v']).replace(/^nginx version: nginx\//, '')} (one process, proxy_buffering and proxy_request_buffering off; client_header_timeout ${timeouts.headersMs} ms, client_body_timeout ${timeouts.requestMs} ms between reads, send_timeout ${timeouts.idleMs} ms)`
  } else {
    writeFileSync(join(dir, 'haproxy.cfg'), haproxyConfig(port, upstream, timeouts))
    child = startProcess(binary, ['-db', '-f', join(dir, 'haproxy.cfg')])
    describe = `HAProxy ${/version (\S+)/.exec(versionOf(binary, ['-v']))?.[1] ?? 'unknown'} (one thread; timeout http-request ${timeouts.headersMs} ms, timeout client ${timeouts.idleMs} ms of inactivity)`
  }
  await waitForListening(port, child, peer)
  const pid = child.pid!
  return {
    pid,
    // as the gateway's child is: every thread of the running process moved to CPU 0
    pinned: pin(pid, GATEWAY_CPU),
    port,
    describe,
    fds: () => processFds(pid),
    rssMiB: () => processRssMiB(pid),
    loopDelay: () => Promise.resolve({ p99Ms: Number.NaN, maxMs: Number.NaN }),
    stop: async () => {
      await stopProcess(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
