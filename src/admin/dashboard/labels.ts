// State words, icons and classes. Colour is never the only signal: every state has a text label and an icon.
import type { DashboardPool, DashboardTarget } from './wire.ts'

export type TargetStateName = DashboardTarget['state']

interface Look { label: string; icon: string; tone: 'ok' | 'warn' | 'bad' | 'off' }

export const TARGET_LOOK: Record<TargetStateName, Look> = {
  healthy: { label: 'healthy', icon: '✓', tone: 'ok' },
  unhealthy: { label: 'unhealthy', icon: '✗', tone: 'bad' },
  ejected: { label: 'ejected', icon: '⏏', tone: 'bad' },
  lagging: { label: 'lagging', icon: '⧗', tone: 'warn' },
  draining: { label: 'draining', icon: '↘', tone: 'warn' },
  drained: { label: 'drained', icon: '○', tone: 'off' },
  disabled: { label: 'disabled', icon: '⊘', tone: 'off' },
}

export const CIRCUIT_LOOK: Record<DashboardPool['circuit'], Look> = {
  closed: { label: 'circuit closed', icon: '●', tone: 'ok' },
  'half-open': { label: 'circuit half-open', icon: '◐', tone: 'warn' },
  open: { label: 'circuit open', icon: '○', tone: 'bad' },
}

export const TIER_LOOK: Record<DashboardPool['activeTier'], Look> = {
  primary: { label: 'on primaries', icon: '▲', tone: 'ok' },
  backup: { label: 'on backups', icon: '▼', tone: 'warn' },
  none: { label: 'no target available', icon: '✗', tone: 'bad' },
}

/** How the tier badge says why traffic is held (the pool's `hold`): an operator's choice, or failback 'manual'. */
export const HOLD_WORDS: Record<Exclude<DashboardPool['hold'], 'none'>, string> = {
  operator: ' (manual)',
  failover: ' (held after a failover)',
}

export function lookOf (state: string): Look {
  return TARGET_LOOK[state as TargetStateName] ?? { label: state, icon: '?', tone: 'warn' }
}
