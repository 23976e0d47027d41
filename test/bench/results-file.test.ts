import t from 'tap'
import { appendRun, HISTORY_HEADING } from '../../bench/results-file.ts'

t.test('a run goes after the last run and above the old harness history', async (t) => {
  const file = `# Benchmark results\n\nintro\n\n### run 1\n\ntable 1\n\n${HISTORY_HEADING}\n\nold table\n`
  t.equal(appendRun(file, '### run 2\n\ntable 2\n'),
    `# Benchmark results\n\nintro\n\n### run 1\n\ntable 1\n\n### run 2\n\ntable 2\n\n${HISTORY_HEADING}\n\nold table\n`)
})

t.test('without a history heading the run goes at the end', async (t) => {
  t.equal(appendRun('# Benchmark results\n\nintro\n\n', '### run 1\n'), '# Benchmark results\n\nintro\n\n### run 1\n')
})
