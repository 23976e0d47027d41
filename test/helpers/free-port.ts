// A port for a process that must be told its port before it starts (a CLI gateway with a fixed port, a handover).
import { createServer, type AddressInfo } from 'node:net'

/** A port that was free a moment ago (bound on port 0, then released). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
