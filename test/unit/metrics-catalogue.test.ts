import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ATTEMPT_OUTCOMES, CATALOGUE, CONFIG_RELOAD_RESULTS, KNOWN_METHODS, LATENCY_BUCKETS, MIRROR_OUTCOMES, READ_TO_PRIMARY_REASONS, RETRY_REASONS } from '../../src/metrics/catalogue.ts'

const specs = Object.values(CATALOGUE)

t.test('names and labels are valid Prometheus names, each metric declared once', async (t) => {
  const names = specs.map((s) => s.name)
  t.equal(new Set(names).size, names.length, 'unique names')
  for (const s of specs) {
    t.match(s.name, /^switchyard_[a-z_]+$/, s.name)
    for (const label of s.labelNames) t.match(label, /^[a-z][a-z_]*$/, `${s.name}: ${label}`)
    t.equal(new Set(s.labelNames).size, s.labelNames.length, `${s.name}: labels unique`)
    t.notOk((s.labelNames as readonly string[]).includes('le'), `${s.name}: le is reserved`)
    if (s.type === 'counter') t.match(s.name, /_total$/, `${s.name}: counters end in _total`)
    else t.notMatch(s.name, /_total$/, `${s.name}: only counters end in _total`)
    t.ok(s.help.length > 0 && !s.help.includes('\n'), `${s.name}: one-line help`)
  }
})

t.test('latency buckets ascend and span 1 ms to 10 s', async (t) => {
  t.ok(LATENCY_BUCKETS.every((b, i) => i === 0 || b > LATENCY_BUCKETS[i - 1]!))
  t.same([LATENCY_BUCKETS[0], LATENCY_BUCKETS.at(-1)], [0.001, 10])
  t.equal(CATALOGUE.requestDuration.buckets, LATENCY_BUCKETS)
})

t.test('bounded label value lists are non-empty and free of duplicates', async (t) => {
  for (const list of [ATTEMPT_OUTCOMES, RETRY_REASONS, CONFIG_RELOAD_RESULTS, READ_TO_PRIMARY_REASONS, MIRROR_OUTCOMES, KNOWN_METHODS]) {
    t.ok(list.length > 0)
    t.equal(new Set(list).size, list.length, list.join(','))
  }
  // a retry follows a failed attempt: every reason is a failed outcome
  for (const reason of RETRY_REASONS) t.ok((ATTEMPT_OUTCOMES as readonly string[]).includes(reason), reason)
})

t.test('no source file outside the catalogue spells a metric name', async (t) => {
  const root = join(import.meta.dirname, '../../src')
  const offenders: string[] = []
  for (const file of readdirSync(root, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file === join('metrics', 'catalogue.ts')) continue
    const text = readFileSync(join(root, file), 'utf8')
    if (/['"`]switchyard_[a-z_]+/.test(text)) offenders.push(file)
  }
  t.same(offenders, [])
})
