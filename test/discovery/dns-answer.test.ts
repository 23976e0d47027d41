// How one lookup's two answers change the known addresses: table-driven over answers and prior state.
import t from 'tap'
import { answerFromError, type AddressState, type DnsLookupError, EMPTY_STATE, type FamilyAnswer, nextState } from '../../src/discovery/answer.ts'

const lookupError = (code: string): DnsLookupError => Object.assign(new Error(code), { code })
const records = (...addresses: string[]): FamilyAnswer => ({ ok: true, addresses })
const failed = (code: string): FamilyAnswer => ({ ok: false, error: lookupError(code) })
const state = (v4: string[], v6: string[], emptyStreak = 0): AddressState => ({ v4, v6, emptyStreak })

t.test('answerFromError: NXDOMAIN and NODATA are "no records", anything else is a failure', async (t) => {
  const cases: [code: string, ok: boolean][] = [
    ['ENOTFOUND', true],
    ['ENODATA', true],
    ['ETIMEOUT', false],
    ['ECONNREFUSED', false],
    ['ESERVFAIL', false],
    ['EREFUSED', false],
    ['EFORMERR', false],
    ['EBADRESP', false],
    ['ECANCELLED', false],
  ]
  for (const [code, ok] of cases) {
    const answer = answerFromError(lookupError(code))
    t.equal(answer.ok, ok, code)
    if (answer.ok) t.same(answer.addresses, [], `${code}: no addresses`)
    else t.equal(answer.error.code, code, `${code}: error kept`)
  }
  t.equal(answerFromError(new Error('no code')).ok, false, 'an error without a code is a failure')
})

t.test('nextState', async (t) => {
  const known = state(['10.0.0.1'], ['fd00::1'])
  const cases: [why: string, before: AddressState, a: FamilyAnswer, aaaa: FamilyAnswer, confirmations: number, after: AddressState][] = [
    ['answers replace the set', known, records('10.0.0.2'), records('fd00::2'), 2, state(['10.0.0.2'], ['fd00::2'])],
    ['first answer from nothing', EMPTY_STATE, records('10.0.0.1'), records(), 2, state(['10.0.0.1'], [])],
    ['both failed: all kept', known, failed('ETIMEOUT'), failed('ESERVFAIL'), 2, known],
    ['A failed: IPv4 kept, IPv6 updated', known, failed('ETIMEOUT'), records('fd00::2'), 2, state(['10.0.0.1'], ['fd00::2'])],
    ['AAAA failed: IPv6 kept, IPv4 updated', known, records('10.0.0.3'), failed('ECONNREFUSED'), 2, state(['10.0.0.3'], ['fd00::1'])],
    ['AAAA failed, A empty: IPv6 kept, so not empty', known, records(), failed('ETIMEOUT'), 2, state([], ['fd00::1'])],
    ['empty, first time: kept, streak 1', known, records(), records(), 2, state(['10.0.0.1'], ['fd00::1'], 1)],
    ['empty, second time: emptied', state(['10.0.0.1'], ['fd00::1'], 1), records(), records(), 2, EMPTY_STATE],
    ['empty, confirmations 1: emptied at once', known, records(), records(), 1, EMPTY_STATE],
    ['empty, confirmations 3, second time: still kept', state(['10.0.0.1'], [], 1), records(), records(), 3, state(['10.0.0.1'], [], 2)],
    ['records after an empty answer: streak reset', state(['10.0.0.1'], [], 1), records('10.0.0.1'), records(), 2, state(['10.0.0.1'], [])],
    ['failure after an empty answer: kept, streak reset', state(['10.0.0.1'], [], 1), failed('ETIMEOUT'), failed('ETIMEOUT'), 2, state(['10.0.0.1'], [])],
    ['A empty, AAAA failed with no IPv6 known: would be empty, so it counts', state(['10.0.0.1'], []), records(), failed('ETIMEOUT'), 2, state(['10.0.0.1'], [], 1)],
    ['empty while empty: nothing to confirm', EMPTY_STATE, records(), records(), 2, EMPTY_STATE],
    ['failures while empty: still empty', EMPTY_STATE, failed('ETIMEOUT'), failed('ETIMEOUT'), 2, EMPTY_STATE],
  ]
  for (const [why, before, a, aaaa, confirmations, after] of cases) t.same(nextState(before, a, aaaa, confirmations), after, why)
})
