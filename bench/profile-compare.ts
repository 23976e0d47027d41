// `node bench/profile-compare.ts <a.cpuprofile> <b.cpuprofile>` (each with the .window.json bench/profile.ts wrote
// beside it: the measured load's window and requests), or `<a.cpuprofile> <a requests> <b.cpuprofile> <b requests>
// [--last-seconds N]` for other profiles:
// where b spends more CPU per request than a, part by part (each of Switchyard's files; each package; Node's
// modules; native frames by name), from two `bench/profile.ts` runs (which print the requests they served).
// Self time only, so each part is that code's own cost; --last-seconds keeps the measured load's samples.
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode { id: number; callFrame: { functionName: string; url: string } }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; endTime: number }

const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'last-seconds': { type: 'string' } } })
interface Window { fromUs: number; toUs: number; requests: number }
const windowOf = (file: string): Window | undefined => existsSync(`${file}.window.json`) ? JSON.parse(readFileSync(`${file}.window.json`, 'utf8')) as Window : undefined
const [fileA, requestsA, fileB, requestsB] = positionals.length === 2 ? [positionals[0], undefined, positionals[1], undefined] : positionals
if (fileA === undefined || fileB === undefined || (positionals.length !== 2 && requestsB === undefined)) {
  throw new Error('usage: profile-compare.ts <a.cpuprofile> <b.cpuprofile> | <a.cpuprofile> <a requests> <b.cpuprofile> <b requests> [--last-seconds N]')
}

/** The part of the code a frame belongs to. */
function part (frame: ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/')
  if (url === '') return frame.functionName // native: (garbage collector), (program), writev, …
  if (url.startsWith('node:')) return url
  if (url.startsWith('src/') || url.startsWith('bench/')) return url
  return url.split('/')[0]! // a package
}

/** µs of busy CPU per request, by part. */
function perRequest (file: string, givenRequests: string | undefined, lastSeconds: number | undefined): Map<string, number> {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const window = givenRequests === undefined ? windowOf(file) : undefined
  if (givenRequests === undefined && window === undefined) throw new Error(`${file}: no ${file}.window.json; give its requests`)
  const requests = window?.requests ?? Number(givenRequests)
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const from = window?.fromUs ?? (lastSeconds === undefined ? -Infinity : profile.endTime - lastSeconds * 1e6)
  const to = window?.toUs ?? Infinity
  let at = profile.endTime - profile.timeDeltas.reduce((a, b) => a + b, 0)
  const out = new Map<string, number>()
  for (let i = 0; i < profile.samples.length; i++) {
    at += profile.timeDeltas[i]!
    const node = byId.get(profile.samples[i]!)!
    if (at < from || at > to || node.callFrame.functionName === '(idle)') continue
    // a sample stands for the time until the next one
    const us = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i]!
    const key = part(node.callFrame)
    out.set(key, (out.get(key) ?? 0) + us / requests)
  }
  return out
}

const lastSeconds = values['last-seconds'] === undefined ? undefined : Number(values['last-seconds'])
const a = perRequest(fileA, requestsA, lastSeconds)
const b = perRequest(fileB, requestsB, lastSeconds)
const sum = (m: Map<string, number>): number => [...m.values()].reduce((x, y) => x + y, 0)
const rows = [...new Set([...a.keys(), ...b.keys()])]
  .map((key) => ({ key, a: a.get(key) ?? 0, b: b.get(key) ?? 0 }))
  .sort((x, y) => (y.b - y.a) - (x.b - x.a))
process.stdout.write(`| part | a µs/req | b µs/req | b − a |\n| --- | ---: | ---: | ---: |\n`)
process.stdout.write(`| **all busy CPU** | ${sum(a).toFixed(1)} | ${sum(b).toFixed(1)} | ${(sum(b) - sum(a)).toFixed(1)} |\n`)
for (const r of rows) {
  if (Math.abs(r.b - r.a) < 0.05) continue
  process.stdout.write(`| ${r.key} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${(r.b - r.a).toFixed(2)} |\n`)
}
