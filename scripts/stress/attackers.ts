// Slow and abusive clients, in their own process (forked by scripts/slow-clients.ts) so their timers and sockets
// do not share an event loop with the normal client being measured. On { type: 'start' } it opens the given
// number of connections of each kind and keeps that many open (a connection the gateway closes is replaced at
// once, as a real attacker would); says { type: 'ready' } once all are open; on { type: 'stop' } it destroys them
// and answers { type: 'stopped', report }.
//   slowloris   request line at once, then the headers one byte every trickleMs, never finished
//   idle        connects and sends nothing
//   slowBody    POST headers with Content-Length 1,000,000 (streamed to the upstream), then one byte every trickleMs
//   slowReader  GET of a large body, never read (the socket is paused); see readerCheckMs
import { connect, type Socket } from 'node:net'
import { machineNow } from './stats.ts'

export const KINDS = ['slowloris', 'idle', 'slowBody', 'slowReader'] as const
export type Kind = (typeof KINDS)[number]

export interface StartMessage {
  type: 'start'
  port: number
  counts: Record<Kind, number>
  trickleMs: number
  readerBytes: number
  /**
   * A paused socket never learns that its peer closed (nothing reads the FIN behind the unread body), so a slow
   * reader reads again once this old: a connection the gateway cut ends after its buffered bytes, one it did not
   * keeps streaming (counted as not cut). When the gateway cut it is taken from the upstream's record (by id).
   */
  readerCheckMs: number
}

export interface KindReport {
  opened: number
  /** Connections the gateway closed (for slow readers: found closed at the check). */
  closedByGateway: number
  /** Lifetimes of those, connect to close, in ms (slow readers: connect to the check; the script uses the upstream's record). */
  lifetimesMs: number[]
  /** First status line of whatever the gateway answered before closing, by status. */
  statuses: Record<string, number>
  /** Slow readers still streaming at their check: the gateway had not cut them. */
  notCut: number
  /** Ages of those still open at stop, in ms. */
  agesAtStopMs: number[]
  /** Slow readers: id → machineNow() at connect, to match the upstream's record. */
  readerConnectedAt: Record<string, number>
  /** Errors while connecting (refused, reset before open). */
  connectErrors: number
}

interface Conn { kind: Kind; socket: Socket; openedAt: number; timer?: NodeJS.Timeout; status?: string; ours: boolean }

const open = new Set<Conn>()
let running = false
let start: StartMessage
let readerSeq = 0
const report = {} as Record<Kind, KindReport>

function emptyReport (): KindReport {
  return { opened: 0, closedByGateway: 0, lifetimesMs: [], statuses: {}, notCut: 0, agesAtStopMs: [], readerConnectedAt: {}, connectErrors: 0 }
}

function trickle (conn: Conn, bytes: string): void {
  let i = 0
  conn.timer = setInterval(() => { conn.socket.write(bytes[i++ % bytes.length]!) }, start.trickleMs)
}

function openOne (kind: Kind): Promise<void> {
  return new Promise((resolve) => {
    const r = report[kind]
    const socket = connect(start.port, '127.0.0.1')
    const conn: Conn = { kind, socket, openedAt: performance.now(), ours: false }
    let connected = false
    socket.setNoDelay(true)
    socket.once('connect', () => {
      connected = true
      conn.openedAt = performance.now()
      r.opened++
      open.add(conn)
      if (kind === 'slowloris') {
        socket.write('GET /loris HTTP/1.1\r\nHost: a.example\r\n')
        trickle(conn, 'X-Slow: y\r\n')
      } else if (kind === 'slowBody') {
        socket.write('POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n')
        trickle(conn, 'b')
      } else if (kind === 'slowReader') {
        const id = `s${readerSeq++}`
        r.readerConnectedAt[id] = machineNow()
        socket.write(`GET /bytes/${start.readerBytes}?id=${id} HTTP/1.1\r\nHost: a.example\r\n\r\n`)
        socket.pause()
        conn.timer = setTimeout(() => checkReader(conn), start.readerCheckMs)
      }
      resolve()
    })
    socket.on('data', (chunk: Buffer) => {
      if (conn.status === undefined) conn.status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.subarray(0, 12).toString('latin1'))?.[1] ?? 'other'
    })
    socket.on('error', () => { /* a reset by the gateway is one way of closing */ })
    socket.once('close', () => {
      clearInterval(conn.timer)
      clearTimeout(conn.timer)
      if (!connected) {
        r.connectErrors++
        resolve()
      } else {
        open.delete(conn)
        if (!conn.ours) {
          r.closedByGateway++
          r.lifetimesMs.push(performance.now() - conn.openedAt)
          r.statuses[conn.status ?? 'none'] = (r.statuses[conn.status ?? 'none'] ?? 0) + 1
        }
      }
      if (running) void openOne(kind)
    })
  })
}

/** Reads what the gateway buffered: a cut connection then ends; one still streaming after 2 s was not cut. */
function checkReader (conn: Conn): void {
  conn.socket.on('data', () => { /* drained */ })
  conn.socket.resume()
  conn.timer = setTimeout(() => {
    if (conn.socket.destroyed) return
    report.slowReader.notCut++
    conn.ours = true
    conn.socket.destroy()
  }, 2000)
}

process.on('message', (message: StartMessage | { type: 'stop' }) => {
  if (message.type === 'start') {
    start = message
    running = true
    for (const k of KINDS) report[k] = emptyReport()
    void (async () => {
      // a ramp, not one burst: 100 connections every 50 ms
      const all = KINDS.flatMap((k) => Array.from({ length: message.counts[k] }, () => k))
      for (let i = 0; i < all.length; i += 100) {
        await Promise.all(all.slice(i, i + 100).map((k) => openOne(k)))
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      process.send!({ type: 'ready', open: open.size })
    })()
  } else {
    running = false
    const now = performance.now()
    for (const conn of open) {
      const r = report[conn.kind]
      r.agesAtStopMs.push(now - conn.openedAt)
      conn.ours = true
      conn.socket.destroy()
    }
    open.clear()
    process.send!({ type: 'stopped', report })
  }
})
process.once('disconnect', () => process.exit(0))
