// The log writer under pressure: a destination that stops taking lines must never stop the gateway. A pipe whose
// reader stalls (a log shipper behind) costs a few ms per batch at most, then lines are dropped and counted; a reader
// that resumes gets the lines from then on, whole; a line cut by a failed write never swallows the next one; a FIFO
// destination with no reader fails the start at once. Writers that could block run in a child process, so a
// regression fails here within a deadline instead of hanging the test.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, constants, openSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { cliEnv, writeConfig } from '../helpers/cli-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const NODE = join(ROOT, 'node_modules/.bin/node')
const LOG_FILE = JSON.stringify(new URL('../../src/log-file.ts', import.meta.url).href)
const LOGGER = JSON.stringify(new URL('../../src/logger.ts', import.meta.url).href)
/** Long enough for a loaded machine (a fixed writer answers in ms); a writer blocked on its pipe never answers. */
const DEADLINE_MS = 5_000
const MiB = 1 << 20
// a regression fails each test at its own deadline, more than tap's 30 s in all
t.setTimeout(120_000)

/** A log line of ~260 bytes: 64 KiB is not a whole number of them, so a full pipe cuts one. */
const line = (tag: string, i: number): string => `${JSON.stringify({ tag, i, pad: 'x'.repeat(221) })}\n`
// the same generator, for the children
const LINE_SRC = `const line = (tag, i) => JSON.stringify({ tag, i, pad: 'x'.repeat(221) }) + '\\n'`

/** A FIFO with a reader (non-blocking, so a drain never waits) and a writer's descriptor to hand a child. */
function fifo (t: Test): { path: string, rfd: number, wfd: number } {
  const path = join(t.testdir(), 'log.fifo')
  execFileSync('mkfifo', [path])
  const rfd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  const wfd = openSync(path, constants.O_WRONLY)
  t.teardown(() => {
    try { closeSync(rfd) } catch {}
    try { closeSync(wfd) } catch {}
  })
  return { path, rfd, wfd }
}

/** Everything the pipe holds now. */
function drain (rfd: number): string {
  const chunks: Buffer[] = []
  const buf = Buffer.alloc(MiB)
  for (;;) {
    let n: number
    try {
      n = readSync(rfd, buf)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') break
      throw err
    }
    if (n === 0) break
    chunks.push(Buffer.from(buf.subarray(0, n)))
  }
  return Buffer.concat(chunks).toString('utf8')
}

type Message = Record<string, unknown>

/**
 * A child running `script` (an ES module) with an IPC channel: next() is its next message, or a failure once
 * DEADLINE_MS pass without one (it is stuck in a write) or it exits; reply() lets it go on. Killed in teardown.
 */
function child (t: Test, script: string, stdio: Array<number | 'ignore' | 'pipe'>): { next: () => Promise<Message>, reply: () => void, exited: Promise<number | null> } {
  const proc: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: [...stdio, 'ipc'] })
  let stderr = ''
  proc.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  const queue: Message[] = []
  let waiting: ((m: Message) => void) | undefined
  proc.on('message', (m: Message) => {
    if (waiting === undefined) queue.push(m)
    else waiting(m)
  })
  const next = (): Promise<Message> => {
    const queued = queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the child sent nothing for ${DEADLINE_MS} ms: blocked in a log write? ${stderr}`)), DEADLINE_MS)
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`the child exited (${code}): ${stderr}`)) })
      waiting = (m) => {
        waiting = undefined
        clearTimeout(timer)
        resolve(m)
      }
    })
  }
  return { next, reply: () => proc.send('go'), exited }
}

/** The child's side of child(): sends a message and waits for the parent's reply. */
const STEP_SRC = `const step = (msg) => new Promise((resolve) => { process.once('message', resolve); process.send(msg) })`

/**
 * Lines as a JSON shipper reads them: each one parses, but for cut heads (a prefix of a line written, on a line of
 * its own) that failed writes leave. A cut head fused with a later line is neither.
 */
function readLines (text: string, written: string[]): { records: Array<{ tag: string, i: number }>, cut: string[], broken: string[] } {
  const records: Array<{ tag: string, i: number }> = []
  const cut: string[] = []
  const broken: string[] = []
  for (const l of text.split('\n')) {
    if (l === '') continue
    try {
      records.push(JSON.parse(l) as { tag: string, i: number })
    } catch {
      if (written.some((w) => w.startsWith(l))) cut.push(l)
      else broken.push(l.slice(0, 80))
    }
  }
  return { records, cut, broken }
}

const range = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => line(tag, i))

t.test("stdout a pipe whose reader stalls: 1 MiB of lines returns at once, dropped and counted; the resumed reader gets whole lines", async (t) => {
  const { rfd, wfd } = fifo(t)
  const kid = child(t, `const { LogFile } = await import(${LOG_FILE})
const { readFileSync } = await import('node:fs')
${LINE_SRC}
${STEP_SRC}
const failures = []
const log = new LogFile(1, { flushMs: 0, onFailure: (err) => failures.push(err.code) })
let t0 = performance.now()
let i = 0
for (let bytes = 0; bytes < ${MiB}; i++) { const l = line('stalled', i); log.write(l); bytes += Buffer.byteLength(l) }
log.flush()
const stalledMs = performance.now() - t0
// the drops go on: each batch is tried once, without waiting again
t0 = performance.now()
for (let j = 0; j < 100; j++) { log.write(line('streak', j)); log.flush() }
const streakMs = performance.now() - t0
const fd1Flags = parseInt(/flags:\\s+(\\d+)/.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'))[1], 8)
await step({ stalledMs, streakMs, lines: i, dropped: log.droppedBytes, failures, fd1NonBlocking: (fd1Flags & ${constants.O_NONBLOCK}) !== 0 })
for (let j = 0; j < 50; j++) log.write(line('after', j))
log.flush()
process.send({ dropped: log.droppedBytes, failures })
process.disconnect()`, ['ignore', wfd, 'pipe'])

  const stalled = await kid.next()
  t.ok((stalled.stalledMs as number) < 2000, `1 MiB into a stalled pipe took ${Math.round(stalled.stalledMs as number)} ms`)
  // a 5 ms wait per batch would take 500 ms at least; a loaded host (four test processes on two cores) took 329 ms without
  t.ok((stalled.streakMs as number) < 450, `100 batches while the drops last took ${Math.round(stalled.streakMs as number)} ms (no 5 ms wait each)`)
  t.ok((stalled.dropped as number) > MiB - 64 * 1024 - 1, `what the pipe could not take is counted: ${stalled.dropped as number} bytes`)
  t.same(stalled.failures, ['EAGAIN'], 'reported once for the run of drops')
  t.equal(stalled.fd1NonBlocking, false, 'fd 1 itself is left blocking, for whoever else shares it')

  // the reader resumes
  const before = drain(rfd)
  kid.reply()
  const done = await kid.next()
  t.equal(await kid.exited, 0)
  t.equal(done.dropped, stalled.dropped, 'nothing dropped once the reader reads again')
  const written = [...range('stalled', stalled.lines as number), ...range('streak', 100)]
  const { records, cut, broken } = readLines(before + drain(rfd), written)
  t.same(broken, [], 'no line is fused with another')
  t.equal(cut.length, 1, 'the one line the full pipe (64 KiB) cut is not whole, on a line of its own')
  const first = records.filter((r) => r.tag === 'stalled').map((r) => r.i)
  t.same(first, Array.from({ length: first.length }, (_, i) => i), 'the lines the pipe took, in order')
  t.same(records.filter((r) => r.tag === 'after').map((r) => r.i), Array.from({ length: 50 }, (_, i) => i), 'every line after the reader resumed, whole')
})

// Node makes stderr's description non-blocking (pino touches process.stderr): with 2>&1, stdout's is the same one
t.test('stdout and stderr the same stalled pipe (2>&1, non-blocking): the logger returns at once, drops counted', async (t) => {
  const { rfd, wfd } = fifo(t)
  const kid = child(t, `const { createLogger, droppedLogBytes } = await import(${LOGGER})
const logger = createLogger({ level: 'info', destination: 'stdout', pretty: false })
const t0 = performance.now()
for (let i = 0; i < 4096; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'request')
logger.flush()
process.send({ ms: performance.now() - t0, dropped: droppedLogBytes(logger) })
process.disconnect()`, ['ignore', wfd, wfd])
  const result = await kid.next()
  t.ok((result.ms as number) < 2000, `~1 MiB of lines took ${Math.round(result.ms as number)} ms`)
  t.ok((result.dropped as number) > 0, 'the drops are counted')
  t.equal(await kid.exited, 0)
  drain(rfd)
})

t.test('a write cut mid-line, then the reader gone (EPIPE), then a new reader: every line it reads parses', async (t) => {
  const { path, rfd, wfd } = fifo(t)
  const kid = child(t, `const { LogFile } = await import(${LOG_FILE})
${LINE_SRC}
${STEP_SRC}
const failures = []
const log = new LogFile(1, { flushMs: 0, onFailure: (err) => failures.push(err.code) })
for (let i = 0; i < 300; i++) log.write(line('cut', i))
log.flush()
await step({ dropped: log.droppedBytes })
for (let i = 0; i < 10; i++) log.write(line('gone', i))
log.flush()
await step({ dropped: log.droppedBytes, failures })
for (let i = 0; i < 10; i++) log.write(line('back', i))
log.flush()
process.send({ failures })
process.disconnect()`, ['ignore', wfd, 'pipe'])
  closeSync(wfd)

  const cut = await kid.next()
  t.ok((cut.dropped as number) > 0, 'the full pipe took part of the batch')
  // the reader goes away without reading: writes now fail with EPIPE
  closeSync(rfd)
  kid.reply()
  const gone = await kid.next()
  t.ok((gone.dropped as number) > (cut.dropped as number), 'lines written with no reader are dropped and counted')
  t.same(gone.failures, ['EAGAIN'], 'still the same run of failures')
  // a new reader: it reads what the pipe held (the writer kept it open), then every later line
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  t.teardown(() => closeSync(reader))
  const held = drain(reader)
  kid.reply()
  await kid.next()
  t.equal(await kid.exited, 0)
  const { records, cut: heads, broken } = readLines(held + drain(reader), range('cut', 300))
  t.same(broken, [], 'the cut line is not fused with the next one written')
  t.equal(heads.length, 1, 'the line the full pipe cut, on a line of its own')
  t.same(records.filter((r) => r.tag === 'back').map((r) => r.i), Array.from({ length: 10 }, (_, i) => i), 'the lines after it are whole')
  t.same(records.filter((r) => r.tag === 'gone'), [], 'the lines written with no reader are not')
})

t.test('log.destination a FIFO: no reader fails at once (ENXIO), at start and at a reopen; a stalled reader does not block', async (t) => {
  const path = join(t.testdir(), 'gw.fifo')
  execFileSync('mkfifo', [path])
  const script = `const { LogFile } = await import(${LOG_FILE})
const fs = await import('node:fs')
${LINE_SRC}
const out = {}
try { new LogFile(${JSON.stringify(path)}, { flushMs: 0 }); out.noReader = 'opened' } catch (err) { out.noReader = [err.code, err.syscall, err.path] }
const rfd = fs.openSync(${JSON.stringify(path)}, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)
const log = new LogFile(${JSON.stringify(path)}, { flushMs: 0 })
log.write('{"first":1}\\n')
log.flush()
const buf = Buffer.alloc(64)
out.first = buf.subarray(0, fs.readSync(rfd, buf)).toString()
// the reader stops reading
const t0 = performance.now()
for (let i = 0; i < 4096; i++) log.write(line('stalled', i))
log.flush()
out.stalledMs = performance.now() - t0
out.dropped = log.droppedBytes
// and goes away: a rotation signal's reopen must not wait for another one
fs.closeSync(rfd)
try { log.reopen(); out.reopen = 'opened' } catch (err) { out.reopen = err.code }
log.end()
process.stdout.write(JSON.stringify(out))`
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: DEADLINE_MS, killSignal: 'SIGKILL' })
  t.equal(run.status, 0, `the child finished (${run.signal ?? ''}): ${run.stderr}`)
  if (run.status !== 0) return
  const out = JSON.parse(run.stdout) as Record<string, unknown>
  t.same(out.noReader, ['ENXIO', 'open', path], 'no reader: ENXIO naming the path, not a hang')
  t.equal(out.first, '{"first":1}\n', 'with a reader, lines arrive')
  t.ok((out.stalledMs as number) < 2000, `~1 MiB into a stalled FIFO took ${Math.round(out.stalledMs as number)} ms`)
  t.ok((out.dropped as number) > 0)
  t.equal(out.reopen, 'ENXIO', 'a reopen with no reader fails at once; the old descriptor stays')
})

t.test('the CLI with a FIFO log.destination that nobody reads: exit 1 at once, naming the field', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'gw.fifo')
  execFileSync('mkfifo', [path])
  const configFile = join(dir, 'gw.config.json')
  writeConfig(configFile, {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    log: { level: 'info', destination: path },
    pools: { p: { targets: ['http://127.0.0.1:9'] } },
    routes: [{ path: '/', pool: 'p' }],
  })
  const proc = spawn(NODE, ['src/main.ts', '--config', configFile], { cwd: ROOT, env: cliEnv({ SWITCHYARD_NODE_FLAGS: 'off' }), stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  })
  const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 15_000).unref())])
  t.equal(code, 1, stderr)
  t.match(stderr, `switchyard: log.destination: cannot open '${path}' (ENXIO)`)
})
