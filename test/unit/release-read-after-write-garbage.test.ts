// Property: no Cookie header or x-read-after-write value that the gateway did not sign (or that is not a
// recent write time) pins a read, and none makes pinnedToPrimary throw.
import t from 'tap'
import { ReadAfterWrite } from '../../src/release/read-after-write.ts'
import { mulberry32 } from './prng.ts'

const T0 = 1_750_000_000_000
const r = new ReadAfterWrite({ secret: 'garbage test secret', stickyAfterWriteMs: 5000, routePath: '/orders', now: () => T0 })
const valid = r.setCookieHeader().split(';')[0]! // sy_rw=<expiry>.<signature>
const [expiry, signature] = valid.slice('sy_rw='.length).split('.') as [string, string]

// Pieces that make garbage look like the real thing; no sequence of them spells the valid token
// (the signature's 22nd character is left out).
const PIECES = [
  'sy_rw', 'sy_rw=', '=', ';', '; ', '"', '.', ',', ' ', '\t', '\r\n', '\u0000', '\u007f', '%', '%2E', '\\',
  expiry, `${expiry}.`, signature.slice(0, 21), signature.slice(22), String(T0 + 5000), '-', '+', 'e', 'NaN', 'Infinity',
  '0', '9999999999999999', 'é', 'ñ', '\u00ff', '\u2028', '日本', '\uD834\uDD1E', '\uD800', '\uDFFF', '\uFEFF',
]

function garbage (random: () => number): string {
  const parts: string[] = []
  const n = Math.floor(random() * 24)
  for (let i = 0; i < n; i++) {
    if (random() < 0.6) parts.push(PIECES[Math.floor(random() * PIECES.length)]!)
    else parts.push(String.fromCharCode(Math.floor(random() * 0x3000))) // any UTF-16 unit, including controls
  }
  return parts.join('')
}

t.test('random garbage never pins and never throws', async (t) => {
  const random = mulberry32(20_240_601)
  const pinned: string[] = []
  for (let i = 0; i < 20_000; i++) {
    const cookie = garbage(random)
    const header = garbage(random)
    if (r.pinnedToPrimary(cookie, header)) pinned.push(JSON.stringify([cookie, header]))
    if (r.pinnedToPrimary(`a=1; ${cookie}; b=2`, undefined)) pinned.push(JSON.stringify([cookie]))
  }
  t.same(pinned, [], 'nothing pinned')
})

t.test('forged tokens of the right shape never pin', async (t) => {
  const random = mulberry32(99)
  const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const accepted: string[] = []
  for (let i = 0; i < 5000; i++) {
    const forgedExpiry = T0 + Math.floor(random() * 20_000) - 10_000 // about a third inside the accepted range
    const forgedSignature = Array.from({ length: 43 }, () => BASE64URL[Math.floor(random() * 64)]).join('')
    const cookie = `${garbage(random)}; sy_rw=${forgedExpiry}.${forgedSignature}; ${garbage(random)}`
    if (r.pinnedToPrimary(cookie, undefined)) accepted.push(cookie)
  }
  t.same(accepted, [])
})

t.test('every truncation of a valid cookie is refused', async (t) => {
  t.equal(r.pinnedToPrimary(valid, undefined), true, 'the whole cookie pins')
  const accepted: number[] = []
  for (let len = 0; len < valid.length; len++) if (r.pinnedToPrimary(valid.slice(0, len), undefined)) accepted.push(len)
  t.same(accepted, [])
})

t.test('random one-character edits of a valid cookie value are refused', async (t) => {
  const random = mulberry32(7)
  const value = valid.slice('sy_rw='.length)
  const accepted: string[] = []
  for (let i = 0; i < 5000; i++) {
    const at = Math.floor(random() * value.length)
    let edited: string
    if (random() < 0.5) {
      edited = value.slice(0, at) + value.slice(at + 1) // deletion
    } else {
      let c: string
      do c = String.fromCharCode(33 + Math.floor(random() * 94)); while (c === value[at])
      edited = value.slice(0, at) + c + value.slice(at + 1) // substitution by another printable character
    }
    if (r.pinnedToPrimary(`sy_rw=${edited}`, undefined)) accepted.push(edited)
  }
  t.same(accepted, [])
})

t.test('huge inputs are refused', async (t) => {
  t.equal(r.pinnedToPrimary(`sy_rw=${'9'.repeat(1_000_000)}`, '1'.repeat(1_000_000)), false)
  t.equal(r.pinnedToPrimary(`${'sy_rw=x; '.repeat(100_000)}${valid}`, undefined), false, 'a valid cookie after 900 KB of look-alikes is not read')
  t.equal(r.pinnedToPrimary(`${valid}; ${'sy_rw=x; '.repeat(100_000)}`, undefined), true, 'one at the start is')
})
