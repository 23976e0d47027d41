// The logger writes at the level log.level configures, from the start: 'warn' keeps the per-request info lines out
// (a busy gateway's log volume), 'debug' lets debug lines through when an operator asks for them. A logger that
// ignored the setting would flood or starve the log pipeline with nothing else failing.
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/logger.ts'

function capture (): { stream: Writable; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as { level: number; msg: string })
      cb()
    },
  })
  return { stream, lines }
}

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
