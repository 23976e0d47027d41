// How one lookup (an A and an AAAA query) changes the known addresses. Each family is kept on its own:
// a family whose query failed keeps its last addresses, so a timeout on AAAA never drops the IPv6 targets
// and a failure of both keeps the whole set. NXDOMAIN and NODATA are answers ("no records"), not failures.

/** The addresses a query returned, or why it has none to tell. */
export type FamilyAnswer =
  | { ok: true; addresses: readonly string[]; /** for no records: ENOTFOUND (NXDOMAIN) or ENODATA (NODATA) */ code?: string }
  | { ok: false; error: DnsLookupError }

/** A resolver error (node:dns): `code` is ETIMEOUT, ECONNREFUSED, ESERVFAIL…, `syscall` names the query. */
export type DnsLookupError = Error & { code?: string; syscall?: string; hostname?: string }

/** Codes by which the server answered that the name has no records of this type. */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA'])

export function answerFromError (error: DnsLookupError): FamilyAnswer {
  return NO_RECORDS.has(error.code ?? '') ? { ok: true, addresses: [], code: error.code } : { ok: false, error }
}

/**
 * Why a lookup that left the name with no address found none, as the operator is told: ENOTFOUND (NXDOMAIN: the name
 * does not exist, a typo'd Service) when either query said so, else ENODATA (the name has no A or AAAA record).
 */
export function noRecordsCode (...answers: FamilyAnswer[]): string {
  return answers.some((answer) => answer.ok && answer.code === 'ENOTFOUND') ? 'ENOTFOUND' : 'ENODATA'
}

export interface AddressState {
  readonly v4: readonly string[]
  readonly v6: readonly string[]
  /** Consecutive lookups that would have left no address while some were known. */
  readonly emptyStreak: number
}

export const EMPTY_STATE: AddressState = Object.freeze({ v4: [], v6: [], emptyStreak: 0 })

/**
 * The state after one lookup. A lookup that would take the set from some addresses to none is applied
 * only once `emptyConfirmations` lookups in a row agree: a zero-pod Service does empty the pool (its old
 * addresses may be reused by other pods), but one spurious NXDOMAIN from a resolver that is still
 * syncing cannot blank a pool that is serving.
 */
export function nextState (state: AddressState, a: FamilyAnswer, aaaa: FamilyAnswer, emptyConfirmations: number): AddressState {
  const v4 = a.ok ? a.addresses : state.v4
  const v6 = aaaa.ok ? aaaa.addresses : state.v6
  const wasEmpty = state.v4.length === 0 && state.v6.length === 0
  if (wasEmpty || v4.length > 0 || v6.length > 0) return { v4, v6, emptyStreak: 0 }
  const emptyStreak = state.emptyStreak + 1
  if (emptyStreak >= emptyConfirmations) return { v4: [], v6: [], emptyStreak: 0 }
  return { v4: state.v4, v6: state.v6, emptyStreak }
}

export function failures (...answers: FamilyAnswer[]): DnsLookupError[] {
  return answers.flatMap((answer) => (answer.ok ? [] : [answer.error]))
}
