import t from 'tap'
import { parseStatCpuTicks, parseStatTimes, parseStatusKiB } from '../../bench/proc.ts'

// a real /proc/<pid>/stat line with utime 1234 and stime 567 (fields 14 and 15)
const stat = (comm: string): string =>
  `4242 (${comm}) S 1 4242 4242 0 -1 4194560 12000 0 3 0 1234 567 0 0 20 0 11 0 100 1000000 25000 18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n`

t.test('utime + stime, counted from the last ")" whatever the command name holds', async (t) => {
  const cases: [comm: string, ticks: number][] = [
    ['node', 1801],
    ['MainThread', 1801],
    ['a b c', 1801],
    ['x) R 9 9 9 (y', 1801],
  ]
  for (const [comm, ticks] of cases) t.equal(parseStatCpuTicks(stat(comm)), ticks, comm)
})

t.test('utime and stime apart (bench/cpu-split.ts splits user from kernel time)', async (t) => {
  t.same(parseStatTimes(stat('x) R 9 9 9 (y')), { user: 1234, system: 567 })
})

t.test('a line that is not a stat line is an error, not zero', async (t) => {
  t.throws(() => parseStatCpuTicks('garbage'))
  t.throws(() => parseStatCpuTicks('1 (node) S 1 2'))
})

const status = `Name:\tnode
VmPeak:\t 1200000 kB
VmSize:\t 1100000 kB
VmHWM:\t  245760 kB
VmRSS:\t  204800 kB
Threads:\t11
`

t.test('VmHWM and VmRSS in KiB', async (t) => {
  t.equal(parseStatusKiB(status, 'VmHWM'), 245760)
  t.equal(parseStatusKiB(status, 'VmRSS'), 204800)
  t.throws(() => parseStatusKiB('Name:\tkthreadd\n', 'VmHWM'), 'kernel threads have no VmHWM')
})
