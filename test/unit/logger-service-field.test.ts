// Every line the gateway logs names its service ("service":"switchyard"): log pipelines that gather several
// programs' output route and filter on it, so a line without it lands nowhere an operator looks.
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/logger.ts'

t.test('each line carries service: switchyard', async (t) => {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  const logger = createLogger({ level: 'info', destination: 'stdout', pretty: false }, stream)
  logger.info('plain')
  logger.child({ pool: 'p' }).warn({ target: 't' }, 'child')
  t.equal(lines.length, 2)
  for (const line of lines) t.equal(line.service, 'switchyard', String(line.msg))
})
