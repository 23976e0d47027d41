import type { BalancerConfig } from '../config/schema.ts'
import { HashBalancer } from './hash.ts'
import { LeastConnectionsBalancer } from './least-connections.ts'
import { P2CBalancer } from './p2c.ts'
import { RandomBalancer } from './random.ts'
import { RoundRobinBalancer } from './round-robin.ts'
import type { Balancer, RandomSource } from './types.ts'

export type { Balancer, Candidate, PickContext, RandomSource } from './types.ts'

/** `roundRobinStart`: where round-robin starts its sequence, at random (none: at the first target). */
export function createBalancer (config: BalancerConfig, random: RandomSource = Math.random, roundRobinStart?: RandomSource): Balancer {
  if (typeof config === 'object') return new HashBalancer()
  switch (config) {
    case 'round-robin': return new RoundRobinBalancer(roundRobinStart)
    case 'least-connections': return new LeastConnectionsBalancer(random)
    case 'random': return new RandomBalancer(random)
    case 'p2c': return new P2CBalancer(random)
  }
}
