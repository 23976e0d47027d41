// Via (RFC 9110 §7.6.3): a gateway MUST add itself to each request it forwards. Each gateway instance also names
// itself in a comment by a random id, so a request that keeps coming back to it (a pool pointing at the gateway
// itself, or at a proxy in front of it) is refused at its third pass instead of looping until connections or time
// run out. The second is let through: a hairpin (the gateway → an auth proxy → the gateway again, on another route)
// is no loop. Two gateways chained (an edge one in front of an internal one) have different ids.
import { randomBytes } from 'node:crypto'

/** The received-by a gateway names itself with by default (RFC 9110 §7.6.3 allows a pseudonym). */
export const DEFAULT_VIA_RECEIVED_BY = 'switchyard'

/** What the gateway adds to a request's Via, and what finds its own entry in one. */
export interface ViaEntry {
  /** `<received-protocol> <received-by> (switchyard/<id>)`, appended to the request's Via. */
  entry: string
  /** `switchyard/<id>`: a Via holding it has passed this gateway instance already. */
  mark: string
}

/** Per received protocol version (the client's: RFC 9110 §7.6.3 received-protocol); undefined when Via is off. */
export interface ViaEntries {
  http11: ViaEntry
  http10: ViaEntry
}

/** A request whose Via shows it passed this instance this many times already is in a loop (508 loop_detected). */
export const LOOP_AFTER_PASSES = 2

/** How many times the mark appears in a Via field's value. */
export function marksIn (via: string, mark: string): number {
  let count = 0
  for (let at = via.indexOf(mark); at !== -1; at = via.indexOf(mark, at + mark.length)) count++
  return count
}

/** A gateway instance's id: 32 random bits (two instances in one chain share one with odds of 1 in 4 billion). */
export function newInstanceId (): string {
  return randomBytes(4).toString('hex')
}

/** The entries a gateway instance adds (server.via: the received-by, or false for none). */
export function viaEntries (receivedBy: string | false, instanceId: string): ViaEntries | undefined {
  if (receivedBy === false) return undefined
  const mark = `switchyard/${instanceId}`
  return {
    http11: { entry: `1.1 ${receivedBy} (${mark})`, mark },
    http10: { entry: `1.0 ${receivedBy} (${mark})`, mark },
  }
}
