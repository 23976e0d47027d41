// The gateway's logger (src/logger.ts): its level, the service field on every line, the credentials it censors,
// and where 'stderr' sends the lines.
import { execFile } from 'node:child_process'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import pino from 'pino'
import t from 'tap'
import { createLogger, writesPlainJson } from '../../src/logger.ts'

type LogLine = Record<string, unknown> & { level: number; msg: string }

/** Every line the logger writes to the stream, parsed. */
function capture (): { stream: Writable; lines: LogLine[] } {
  const lines: LogLine[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine)
      cb()
    },
  })
  return { stream, lines }
}

// The logger writes at the level log.level configures, from the start: 'warn' keeps the per-request info lines out
// (a busy gateway's log volume), 'debug' lets debug lines through when an operator asks for them. A logger that
// ignored the setting would flood or starve the log pipeline with nothing else failing.
t.test('log.level decides which lines are written', async (t) => {
  const warn = capture()
  const quiet = createLogger({ level: 'warn', destination: 'stdout', pretty: false }, warn.stream)
  quiet.info('info line')
  quiet.warn('warn line')
  t.strictSame(warn.lines.map((l) => l.msg), ['warn line'], "'warn': info lines are not written")

  const debug = capture()
  const verbose = createLogger({ level: 'debug', destination: 'stdout', pretty: false }, debug.stream)
  verbose.debug('debug line')
  t.strictSame(debug.lines.map((l) => l.msg), ['debug line'], "'debug': debug lines are written")
})

// Every line the gateway logs names its service ("service":"switchyard"): log pipelines that gather several
// programs' output route and filter on it, so a line without it lands nowhere an operator looks.
t.test('each line carries service: switchyard', async (t) => {
  const { stream, lines } = capture()
  const logger = createLogger({ level: 'info', destination: 'stdout', pretty: false }, stream)
  logger.info('plain')
  logger.child({ pool: 'p' }).warn({ target: 't' }, 'child')
  t.equal(lines.length, 2)
  for (const line of lines) t.equal(line.service, 'switchyard', String(line.msg))
})

// The gateway's logger censors the credentials that could reach a log line through an error or a debug dump of a
// request or its headers: Authorization and Cookie, under req.headers and under headers. A log pipeline is read by
// more people than the admin token and session cookies are meant for, so a path dropped from the redaction list
// would leak them with nothing else failing.
t.test('Authorization and Cookie are censored under req.headers and headers; other headers are kept', async (t) => {
  const { stream, lines } = capture()
  const logger = createLogger({ level: 'info', destination: 'stdout', pretty: false }, stream)
  const headers = { authorization: 'Bearer s3cret', cookie: 'session=abc', 'x-user': 'alice' }
  logger.info({ req: { headers: { ...headers } } }, 'dump')
  logger.info({ headers: { ...headers } }, 'dump')
  t.equal(lines.length, 2)
  const [a, b] = lines as unknown as [{ req: { headers: Record<string, string> } }, { headers: Record<string, string> }]
  t.not(a.req.headers.authorization, 'Bearer s3cret', 'req.headers.authorization')
  t.not(a.req.headers.cookie, 'session=abc', 'req.headers.cookie')
  t.not(b.headers.authorization, 'Bearer s3cret', 'headers.authorization')
  t.not(b.headers.cookie, 'session=abc', 'headers.cookie')
  t.equal(a.req.headers['x-user'], 'alice', 'other headers stay')
  t.equal(b.headers['x-user'], 'alice', 'other headers stay')
  t.notMatch(JSON.stringify(lines), /s3cret|session=abc/, 'neither secret appears anywhere in the lines')
})

// log.destination: 'stderr' sends the log lines to standard error and nothing to standard output: an operator who
// keeps stdout for something else (or a supervisor that splits the two streams) must find the lines where the
// setting says.
const run = promisify(execFile)

t.test("destination 'stderr': lines on fd 2, none on fd 1", async (t) => {
  const logger = new URL('../../src/logger.ts', import.meta.url).href
  const script = `import { createLogger } from ${JSON.stringify(logger)}
const log = createLogger({ level: 'info', destination: 'stderr', pretty: false })
log.info('to stderr')`
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 20_000 })
  t.equal(stdout, '', 'nothing on stdout')
  const lines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string })
  t.strictSame(lines.map((l) => l.msg), ['to stderr'], 'the line on stderr')
})

// The gateway's own logger is marked as one whose access-log lines may be built by hand (writesPlainJson), and a
// logger an embedder passes in is not. The output is the same either way (test/proxy/access-log.test.ts compares
// both, in access-log-upstream-error); what the mark buys is the hot path's cost: without it every request's line goes through pino's
// generic serialiser, a throughput loss no functional test would notice. The other half matters for correctness:
// a foreign logger may carry formatters, a mixin or hooks that a hand-built line would skip.
t.test('logger-plain-json', async (t) => {
  t.test("createLogger's loggers take the hand-built access-log line; foreign loggers do not", async (t) => {
    const sink = new Writable({ write (_chunk, _enc, cb) { cb() } })
    t.ok(writesPlainJson(createLogger({ level: 'info', destination: 'stdout', pretty: false }, sink)), 'a logger on a given stream')
    t.ok(writesPlainJson(createLogger({ level: 'warn', destination: 'stdout', pretty: false })), 'a logger on stdout')
    t.notOk(writesPlainJson(pino({ level: 'info' }, sink)), "an embedder's pino logger")
  })
})

// With log.destination 'stderr', a failed log write is not reported on stderr: that is the log stream itself, so
// the report would be a plain-text line among the JSON lines (a pipeline parsing them chokes on it), written to
// the very descriptor that just refused a batch. The other destinations report on stderr (a separate stream).
// A transient failure is injected: the first write to fd 2 fails with EIO and later ones succeed, as a terminal
// or pipe that hiccups does; the line lost is dropped, and stderr must hold nothing but JSON lines.
t.test('logger-stderr-no-failure-report', async (t) => {
  const run = promisify(execFile)

  t.test("destination 'stderr': a failed write is not reported on the log stream", async (t) => {
    const logger = new URL('../../src/logger.ts', import.meta.url).href
    const script = `import fs from 'node:fs'
  import { syncBuiltinESMExports } from 'node:module'
  const writeSync = fs.writeSync
  let failed = false
  fs.writeSync = function (fd, ...rest) {
    if (fd === 2 && !failed) { failed = true; throw Object.assign(new Error('injected'), { code: 'EIO' }) }
    return writeSync.call(this, fd, ...rest)
  }
  syncBuiltinESMExports()
  const { createLogger } = await import(${JSON.stringify(logger)})
  const log = createLogger({ level: 'info', destination: 'stderr', pretty: false })
  log.info('lost')
  log.flush()
  log.info('kept')
  log.flush()
  process.stdout.write(String(failed))`
    const { stdout, stderr } = await run(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { timeout: 20_000 })
    t.equal(stdout, 'true', 'the first write to fd 2 failed')
    const lines = stderr.split('\n').filter((l) => l !== '')
    t.ok(lines.every((l) => l.startsWith('{')), 'only JSON lines on stderr')
    t.strictSame(lines.map((l) => (JSON.parse(l) as { msg: string }).msg), ['kept'], 'the line after the failure is written')
  })
})
