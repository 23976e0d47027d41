// `node bench/profile-categories.ts <file.cpuprofile> [µs per request] [--last-seconds N]`: the profile's busy CPU
// (idle left out) by where its self time was spent, as shares and, given the process's CPU µs per request (from
// run.ts), as µs. Each sample goes to the category of the function it was in (self time), so a category is that
// code's own cost. --last-seconds keeps only the samples of the profile's last N seconds: the measured load,
// without start-up (module loading, first health round) and warm-up.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Node { id: number; callFrame: { functionName: string; url: string }; hitCount: number }
const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'last-seconds': { type: 'string' } } })
const [file, perRequest] = positionals
if (file === undefined) throw new Error('usage: profile-categories.ts <file.cpuprofile> [cpu µs per request] [--last-seconds N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; endTime: number }
if (values['last-seconds'] !== undefined) {
  // sample i was taken at startTime + the sum of timeDeltas up to i (µs); count again from the kept ones
  const from = profile.endTime - Number(values['last-seconds']) * 1e6
  const hits = new Map<number, number>()
  let at = profile.endTime - profile.timeDeltas.reduce((a, b) => a + b, 0)
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!
    if (at >= from) hits.set(profile.samples[i]!, (hits.get(profile.samples[i]!) ?? 0) + 1)
  }
  for (const n of profile.nodes) n.hitCount = hits.get(n.id) ?? 0
}

const SYSCALLS = new Set(['writev', 'writeBuffer', 'writeLatin1String', 'writeUtf8String', 'writeString', 'readStart', 'readStop', 'close', 'onStreamRead'])
const RULES: [string, (name: string, url: string) => boolean][] = [
  ['syscalls and string encoding (writev, write, read)', (n, u) => u === '' && SYSCALLS.has(n)],
  ['garbage collector', (n) => n === '(garbage collector)'],
  ['access log (line, batch, write)', (_, u) => /src\/proxy\/access-log|src\/log-file|src\/logger|\/pino\/|sonic-boom/.test(u)],
  ['metrics and dashboard history', (_, u) => /src\/metrics\/|src\/admin\/history|prom-client/.test(u)],
  ['breaker (opossum)', (_, u) => /opossum|src\/resilience\/breaker/.test(u)],
  ['retry loop, budget, outlier', (_, u) => /src\/proxy\/retry-loop|src\/resilience\/|src\/health\//.test(u)],
  ['parse and route (front, headers, path, table)', (_, u) => /src\/proxy\/(front|headers|hash-key)|src\/routing\/|proxy-addr/.test(u)],
  ['pick (pool, balancer)', (_, u) => /src\/upstream\/|src\/balancer\//.test(u)],
  ['proxy handler (exchange, attempt, forward)', (_, u) => /src\/proxy\/|src\/app\.ts/.test(u)],
  ['Fastify', (_, u) => /fastify|find-my-way|avvio/.test(u)],
  ['undici (client, llhttp)', (n, u) => /undici|^wasm/.test(u) || /^wasm|js-to-wasm|wasm-to-js/.test(n)],
  ['node:http, net, streams, timers, events', (_, u) => u.startsWith('node:')],
  ['V8 and native (program, builtins)', () => true],
]

const totals = new Map<string, number>(RULES.map(([name]) => [name, 0]))
let busy = 0
for (const n of profile.nodes) {
  if (n.hitCount === 0 || n.callFrame.functionName === '(idle)') continue
  busy += n.hitCount
  const [name] = RULES.find(([, match]) => match(n.callFrame.functionName, n.callFrame.url))!
  totals.set(name, totals.get(name)! + n.hitCount)
}
const us = perRequest === undefined ? undefined : Number(perRequest)
process.stdout.write(`| where | share of busy CPU |${us === undefined ? '' : ' µs per request |'}\n| --- | ---: |${us === undefined ? '' : ' ---: |'}\n`)
for (const [name, hits] of totals) {
  if (hits === 0) continue
  const share = hits / busy
  process.stdout.write(`| ${name} | ${(share * 100).toFixed(1)}% |${us === undefined ? '' : ` ${(share * us).toFixed(1)} |`}\n`)
}

// Features by inclusive time (the function and everything it called), minus what they wrap that the floor
// does too (the breaker's run() wraps the attempts; Fastify's routing wraps the proxy's handler).
interface Full extends Node { children?: number[] }
const nodes = profile.nodes as Full[]
const byId = new Map(nodes.map((n) => [n.id, n]))
const inclusive = new Map<number, number>()
const incl = (n: Full): number => {
  let v = inclusive.get(n.id)
  if (v === undefined) {
    v = n.hitCount
    for (const c of n.children ?? []) v += incl(byId.get(c)!)
    inclusive.set(n.id, v)
  }
  return v
}
/** Inclusive samples of the outermost frames matching `frame` (a frame called within another match counts once). */
const within = (frame: RegExp, root: Full = nodes[0]!): number => {
  const where = `${root.callFrame.functionName} ${root.callFrame.url}`
  if (frame.test(where)) return incl(root)
  let v = 0
  for (const c of root.children ?? []) v += within(frame, byId.get(c)!)
  return v
}
const FEATURES: [string, () => number][] = [
  ['access log (logExchange and all it calls)', () => within(/^logExchange /)],
  ['Fastify in front of the proxy (routing, hooks, request/reply)', () => within(/^preRouting .*fastify/) - within(/^handle .*src\/proxy\/forward/, nodes.find((n) => /^preRouting /.test(`${n.callFrame.functionName} `)) ?? nodes[0]!)],
  ['breaker around the attempts (opossum fire/call, promises)', () => within(/^run .*src\/resilience\/breaker/) - within(/^tryTargets /)],
  ['admission: headers, request id, path, route', () => within(/^(\(anonymous\)|) .*src\/proxy\/front\.ts/) + within(/^createAdmit .*/)],
  ['response head (onResponseStart, writeHead)', () => within(/^onResponseStart .*src\/proxy\/attempt/)],
  ['metrics (route request, target attempt, history)', () => within(/^request .*src\/metrics\/route/) + within(/^attempt .*src\/app\.ts/)],
  ['garbage collector', () => within(/^\(garbage collector\) /)],
]
process.stdout.write(`\n| feature (inclusive) | share of busy CPU |${us === undefined ? '' : ' µs per request |'}\n| --- | ---: |${us === undefined ? '' : ' ---: |'}\n`)
for (const [name, measure] of FEATURES) {
  const share = Math.max(0, measure()) / busy
  process.stdout.write(`| ${name} | ${(share * 100).toFixed(1)}% |${us === undefined ? '' : ` ${(share * us).toFixed(1)} |`}\n`)
}
