// What every view may ask of the page: the time (the gateway's), when things changed, and the operator's actions.
import type { TargetAction } from '../api.ts'

export interface Actions {
  /** Why actions cannot be used right now, or undefined when they can. */
  disabledReason (): string | undefined
  /** The operation in flight, if any, as a key (e.g. 'drain:pay:10.0.0.1:3000'): its button shows busy. */
  busy (): string | undefined
  targetAction (pool: string, target: string, action: TargetAction): void
  switchover (pool: string, to: 'primary' | 'backup'): void
  setCanaryWeight (route: string, weight: number): void
  /** Says in the page's status line why something the operator asked for was not sent (a weight of 150). */
  refuse (reason: string): void
}

export interface ViewContext {
  actions: Actions
  /** The gateway's clock now (epoch ms), estimated from the last snapshot. */
  now (): number
  /** When the thing named by key entered its current state (epoch ms), if known. */
  since (key: string): number | undefined
}

export const targetKey = (pool: string, target: string): string => `target:${pool}:${target}`
export const circuitKey = (pool: string): string => `circuit:${pool}`
export const tierKey = (pool: string): string => `tier:${pool}`
/** The route's id: unique, where path, host and methods are not (two routes may differ only by headers). */
export const routeKey = (route: { id: string }): string => route.id
/** How the admin API names a route (POST /routes/:route/canary) and how the page shows it: its name, else its id. */
export const routeLabel = (route: { id: string; name?: string }): string => route.name ?? route.id
