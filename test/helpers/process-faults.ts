// Collects the process's uncaught exceptions and unhandled rejections while a test runs (a fuzz case must cause
// none): each as "kind: stack", the listeners removed in teardown.
export function collectProcessFaults (t: { teardown (fn: () => void): void }): string[] {
  const faults: string[] = []
  const onFault = (kind: string) => (err: unknown): void => { faults.push(`${kind}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`) }
  const onException = onFault('uncaughtException')
  const onRejection = onFault('unhandledRejection')
  process.on('uncaughtException', onException)
  process.on('unhandledRejection', onRejection)
  t.teardown(() => {
    process.off('uncaughtException', onException)
    process.off('unhandledRejection', onRejection)
  })
  return faults
}
