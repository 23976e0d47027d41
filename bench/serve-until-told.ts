// The end of every gateway script the benchmark starts: say `READY <url>` on stderr, then close the gateway on
// SIGTERM or when stdin closes (the harness is gone).
import type { Gateway } from '../src/app.ts'

export async function serveUntilTold (gateway: Gateway): Promise<void> {
  const url = await gateway.listen({ host: '127.0.0.1', port: 0 })
  process.stderr.write(`READY ${url}\n`)
  let closing = false
  const close = (): void => {
    if (closing) return
    closing = true
    void gateway.close().then(() => process.exit(0))
  }
  process.on('SIGTERM', close)
  process.stdin.on('end', close).resume()
}
