// Two different stop signals within SAME_STOP_MS (src/main.ts) are two stops, not one delivered twice: a SIGTERM and,
// as soon as it is taken, a SIGINT (an operator's Ctrl-C on a gateway a supervisor is already stopping) cut the drain, exit 1, as a
// second stop does. Only the same signal again so soon is one stop delivered twice (same-stop-twice.test.ts): the
// dedupe keyed on time alone took the SIGINT for a copy of the SIGTERM and drained on (exit 0, the request answered).
import t from 'tap'
import { slowUpstreamConfig, startCli } from '../helpers/cli-process.ts'

const WARN = 40

t.test('SIGTERM then SIGINT 20 ms later: a second stop, the request in flight cut, exit 1', async (t) => {
  const { file, slow } = await slowUpstreamConfig(t, 3000)
  const cli = await startCli(t, file)
  const answer = fetch(`${cli.url}/held`).then(async (r) => { await r.arrayBuffer(); return r.status }, () => 'cut')
  while (slow.requests.length < 1) await new Promise((resolve) => setTimeout(resolve, 20))
  cli.kill('SIGTERM')
  // the SIGINT once the SIGTERM has been taken: both pending at once, Node handles SIGINT (2) before SIGTERM (15), and
  // the second stop is then the SIGTERM (a loaded clean-clone run). Still within SAME_STOP_MS of it, the point here.
  while (!cli.records.some((r) => r.signal === 'SIGTERM')) await new Promise((resolve) => setTimeout(resolve, 2))
  cli.kill('SIGINT')
  t.strictSame(await cli.exited, { code: 1, signal: null }, 'exit 1: the drain was cut')
  t.match(cli.records.find((r) => r.level === WARN), { signal: 'SIGINT', inFlight: 1 }, 'the SIGINT said as a second stop')
  t.equal(await answer, 'cut', 'the request in flight was cut')
})
