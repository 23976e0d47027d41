// Waiting for objects to become garbage, for the chaos suites' leak checks: `held` reads WeakRefs and names what is
// still alive. A full collection on demand is for these checks only (the gateway itself never calls gc()).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Collects until `held()` is empty; after `timeoutMs`, `fail` gets what is still held (it must throw). */
export async function waitUntilCollected (held: () => string[], fail: (held: string[]) => never, timeoutMs = 1500): Promise<void> {
  for (const until = Date.now() + timeoutMs; ;) {
    await sleep(20)
    gc() // first in its job: reading a WeakRef keeps its target alive until the job ends
    if (held().length === 0) return
    if (Date.now() > until) fail(held())
  }
}
