// What the checks after a case read: the gateway, the upstreams, the model the operators left, and the records.
import type { TestGateway } from '../../helpers/gateway.ts'
import type { Names } from './agreement.ts'
import type { Journal } from './journal.ts'
import type { Model } from './model.ts'
import type { Recorder } from './recorder.ts'
import type { ChaosUpstream } from './upstream.ts'

export interface CaseContext {
  readonly gw: TestGateway
  readonly ups: ReadonlyMap<string, ChaosUpstream>
  readonly model: Model
  readonly recorder: Recorder
  readonly journal: Journal
  readonly names: Names
  /** Client loops (each one kept-alive connection). */
  readonly loops: number
  readonly tag: string
  /** Throws the violation, with the actions that led to it. */
  fail (message: string): never
}
