// The gateway's logger censors the credentials that could reach a log line through an error or a debug dump of a
// request or its headers: Authorization and Cookie, under req.headers and under headers. A log pipeline is read by
// more people than the admin token and session cookies are meant for, so a path dropped from the redaction list
// would leak them with nothing else failing.
import { Writable } from 'node:stream'
import t from 'tap'
import { createLogger } from '../../src/logger.ts'

function capture (): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>)
      cb()
    },
  })
  return { stream, lines }
}

t.test('Authorization and Cookie are censored under req.headers and headers; other headers are kept', async (t) => {
  const { stream, lines } = capture()
  const logger = createLogger({ level: 'info', destination: 'stdout', pretty: false }, stream)
  const headers = { authorization: 'Bearer s3cret', cookie: 'session=abc', 'x-user': 'alice' }
  logger.info({ req: { headers: { ...headers } } }, 'dump')
  logger.info({ headers: { ...headers } }, 'dump')
  t.equal(lines.length, 2)
  const [a, b] = lines as [{ req: { headers: Record<string, string> } }, { headers: Record<string, string> }]
  t.not(a.req.headers.authorization, 'Bearer s3cret', 'req.headers.authorization')
  t.not(a.req.headers.cookie, 'session=abc', 'req.headers.cookie')
  t.not(b.headers.authorization, 'Bearer s3cret', 'headers.authorization')
  t.not(b.headers.cookie, 'session=abc', 'headers.cookie')
  t.equal(a.req.headers['x-user'], 'alice', 'other headers stay')
  t.equal(b.headers['x-user'], 'alice', 'other headers stay')
  t.notMatch(JSON.stringify(lines), /s3cret|session=abc/, 'neither secret appears anywhere in the lines')
})
