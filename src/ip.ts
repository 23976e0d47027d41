// One spelling per IP address, so that a client, a route's host or a target written in any of its forms is one and
// the same: IPv6 in lower case and compressed (RFC 5952, as the kernel prints a peer's), IPv4-mapped IPv6 as IPv4.
import { isIP, SocketAddress } from 'node:net'

/** The canonical text of an IP address literal (no brackets, no port), or undefined when `text` is not one. */
export function canonicalIp (text: string): string | undefined {
  const family = isIP(text)
  if (family === 4) return text
  if (family === 0) return undefined
  const address = new SocketAddress({ address: text, family: 'ipv6' }).address
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address
}
