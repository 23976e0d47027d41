// The access log prints durations from integers: the text must be what JSON.stringify prints for the same value.
import t from 'tap'
import { hundredthsText } from '../../src/proxy/access-log.ts'
import { mulberry32 } from './prng.ts'

t.test('durations print as JSON.stringify prints them', async (t) => {
  const table = [0, 0.01, 0.05, 0.1, 0.5, 0.99, 1, 1.05, 1.5, 12.3, 12.34, 100, 1234.56, 30000, 86_400_000.01]
  for (const v of table) t.equal(hundredthsText(v), JSON.stringify(v), String(v))
  const random = mulberry32(7)
  let mismatches = 0
  for (let i = 0; i < 100_000; i++) {
    const v = Math.round(random() * 10 ** (1 + Math.floor(random() * 7)) * 100) / 100
    if (hundredthsText(v) !== JSON.stringify(v)) mismatches++
  }
  t.equal(mismatches, 0)
})

t.test('an elapsed time prints as JSON.stringify prints it rounded to hundredths', async (t) => {
  const random = mulberry32(11)
  let mismatches = 0
  for (let i = 0; i < 100_000; i++) {
    const v = random() * 10 ** (1 + Math.floor(random() * 7))
    if (hundredthsText(v) !== JSON.stringify(Math.round(v * 100) / 100)) mismatches++
  }
  t.equal(mismatches, 0)
})
