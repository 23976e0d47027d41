// log.destination: 'stderr' sends the log lines to standard error and nothing to standard output: an operator who
// keeps stdout for something else (or a supervisor that splits the two streams) must find the lines where the
// setting says.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'

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
