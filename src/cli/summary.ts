// `switchyard check`: a readable summary of what the config will do, like `nginx -t`.
import type { ResolvedConfig, RouteConfig } from '../config/schema.ts'

export function describeConfig (config: ResolvedConfig, file: string): string {
  const lines = [`${file}: config is valid`, `listen ${config.server.host}:${config.server.port}, admin ${config.admin.host}:${config.admin.port}`, 'routes:']
  for (const r of config.routes) {
    // every condition a request must meet: two routes on one path differ by one of them
    const narrowing = [
      r.host ? `host ${r.host}` : '', r.methods ? r.methods.join(',') : '',
      ...Object.entries(r.headers ?? {}).map(([header, value]) => `${header}: ${value}`), r.stripPrefix ? 'strip prefix' : '',
    ].filter(Boolean).join(', ')
    const name = r.name === undefined ? '' : ` [${r.name}]`
    lines.push(`  ${r.path}${narrowing ? ` (${narrowing})` : ''}${name} -> ${r.pool}${releaseParts(r).map((part) => `; ${part}`).join('')}`)
  }
  lines.push('pools:')
  for (const [name, pool] of Object.entries(config.pools)) {
    const balancer = typeof pool.balancer === 'string' ? pool.balancer : `hash on ${pool.balancer.key}`
    lines.push(`  ${name} (${balancer}${pool.healthCheck ? `, health ${pool.healthCheck.path} every ${pool.healthCheck.intervalMs}ms` : ''})`)
    for (const t of pool.targets) lines.push(`    ${t.url} weight ${t.weight}${t.backup ? ' backup' : ''}`)
    for (const d of pool.discover) lines.push(`    every address of ${d.dns} port ${d.port} (${d.protocol}, looked up every ${d.refreshMs}ms) weight ${d.weight}${d.backup ? ' backup' : ''}`)
  }
  return lines.join('\n')
}

/** The other pools a route sends to: its read replicas, its canary and its mirror, e.g. 'canary payment-v2 10%'. */
function releaseParts (r: RouteConfig): string[] {
  const parts: string[] = []
  if (r.reads) parts.push(`reads (${r.reads.methods.join(',')}) -> ${r.reads.pool}`)
  if (r.canary) parts.push(`canary ${r.canary.pool} ${r.canary.weight}%${r.canary.stickyBy === 'none' ? '' : ` sticky by ${r.canary.stickyBy}`}`)
  if (r.mirror) parts.push(`mirror ${r.mirror.pool} ${r.mirror.percent}%`)
  return parts
}
