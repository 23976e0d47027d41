// What a DNS-discovered pool target says: a name whose A and AAAA records are the targets, the port
// they serve on, and how often the name is looked up again.
import { ConfigError } from '../errors.ts'

export interface DnsTargetSpec {
  /** Fully qualified name (e.g. a Kubernetes headless Service): resolver queries do not apply search domains. */
  dns: string
  port: number
  refreshMs: number
  protocol?: 'http' | 'https'
}

/** Refuses a spec the discovery could not run with (the config schema should already have said so). */
export function checkDnsTargetSpec (spec: DnsTargetSpec): void {
  const problems: string[] = []
  if (typeof spec.dns !== 'string' || spec.dns.trim() === '') problems.push('dns: must be a host name')
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) problems.push('port: must be a port number from 1 to 65535')
  if (!Number.isInteger(spec.refreshMs) || spec.refreshMs <= 0) problems.push('refreshMs: must be a whole number of milliseconds greater than 0')
  if (spec.protocol !== undefined && spec.protocol !== 'http' && spec.protocol !== 'https') problems.push("protocol: must be 'http' or 'https'")
  if (problems.length > 0) throw new ConfigError(problems)
}
