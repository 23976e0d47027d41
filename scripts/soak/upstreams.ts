// The soak's upstreams, in a process of their own (forked by scripts/soak.ts with an IPC channel), so a stall of
// the load generator never looks like a dead target to the gateway's health checks: `node upstreams.ts N`.
// Says { type: 'ready', urls } once listening; { type: 'refuse', index } stops one (connections reset, port
// refused) and { type: 'restore', index } brings it back on its port, each answered { type: 'done' }; exits
// when the channel closes.
import { TestUpstream } from '../../test/helpers/upstream.ts'

const count = Number(process.argv[2] ?? '3')
const upstreams = await Promise.all(Array.from({ length: count }, (_, i) => TestUpstream.start({ name: `t${i}` })))
// each upstream logs every request it sees; nobody reads that log here
setInterval(() => { for (const u of upstreams) u.requests.length = 0 }, 1000).unref()
process.send!({ type: 'ready', urls: upstreams.map((u) => u.url) })

process.on('message', (message: { type: 'refuse' | 'restore'; index: number }) => {
  const upstream = upstreams[message.index]!
  const done = (): void => { process.send!({ type: 'done' }) }
  if (message.type === 'refuse') void upstream.refuse().then(done)
  else void (upstream.server.listening ? Promise.resolve() : upstream.restore()).then(done, done)
})
process.once('disconnect', () => { void Promise.all(upstreams.map((u) => u.close())).finally(() => process.exit(0)) })
