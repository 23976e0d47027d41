// Loopback ports that refuse connections and stay refusing. A port a server listened on and then closed could be
// handed to another test file's server listening on port 0 meanwhile (the suite runs files in parallel; seen once:
// a "refusing" target answered); a port below the kernel's ephemeral range is never handed out for port 0.
import { readFileSync } from 'node:fs'
import { connect } from 'node:net'

/** `count` distinct ports on 127.0.0.1 that refuse connections now, below the ephemeral range. */
export async function refusedPorts (count: number): Promise<number[]> {
  const end = ephemeralPortsStart()
  const ports = new Set<number>()
  while (ports.size < count) {
    const port = 10_000 + Math.floor(Math.random() * (end - 10_000))
    if (!ports.has(port) && await refuses(port)) ports.add(port)
  }
  return [...ports]
}

export async function refusedPort (): Promise<number> {
  const [port] = await refusedPorts(1)
  return port as number
}

function ephemeralPortsStart (): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768
  } catch {
    return 32_768 // not Linux: IANA's dynamic range starts higher still (49152)
  }
}

function refuses (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve(false) })
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'))
  })
}
