// The word /status, the metrics and the dashboard show for a target agrees with whether it takes requests: at
// ejectedUntil its ejection is over (isAvailable says so) and it reads 'healthy', not 'ejected'. An operator
// watching a target come back must not see it named ejected while it already serves.
import t from 'tap'
import { INITIAL_STATUS, isAvailable, targetState } from '../../src/upstream/status.ts'

t.test("'ejected' until ejectedUntil, 'healthy' from then on", async (t) => {
  const ejected = { ...INITIAL_STATUS, ejectedUntil: 5000 }
  t.equal(targetState(ejected, 0, 4999), 'ejected', 'one ms before')
  t.equal(targetState(ejected, 0, 5000), 'healthy', 'at ejectedUntil')
  t.equal(isAvailable(ejected, 5000), true, 'and it takes requests then')
})
