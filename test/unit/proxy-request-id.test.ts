// Generated request ids: unique, in the character set every request id must have, across refills of the pool.
import t from 'tap'
import { isSaneRequestId } from '../../src/proxy/headers.ts'
import { newRequestId } from '../../src/proxy/request-id.ts'

t.test('ids are 22 base64url characters, accepted as request ids, and never repeat', async (t) => {
  const seen = new Set<string>()
  // several refills of the 512-id random pool
  for (let i = 0; i < 5000; i++) {
    const id = newRequestId()
    if (!/^[A-Za-z0-9_-]{22}$/.test(id) || !isSaneRequestId(id)) t.fail(`malformed id ${id}`)
    seen.add(id)
  }
  t.equal(seen.size, 5000)
})
